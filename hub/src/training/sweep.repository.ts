/** The sweeps table: a sweep's space and chooser metric, stored once; its runs point back to it (runs.sweep_id). */
import { and, eq } from 'drizzle-orm';
import type { Database } from '../db/database';
import { sweeps } from '../db/schema';

export type Sweep = typeof sweeps.$inferSelect;
export type NewSweep = Pick<typeof sweeps.$inferInsert, 'projectId' | 'strategy' | 'space' | 'metric' | 'createdBy'>;

export async function create(db: Database, sweep: NewSweep): Promise<Sweep> {
  const [row] = await db.insert(sweeps).values(sweep).returning();
  return row!;
}

/** The project's sweep, or null when the project has no such sweep. */
export async function findInProject(db: Database, projectId: string, sweepId: string): Promise<Sweep | null> {
  const [row] = await db.select().from(sweeps).where(and(eq(sweeps.id, sweepId), eq(sweeps.projectId, projectId)));
  return row ?? null;
}
