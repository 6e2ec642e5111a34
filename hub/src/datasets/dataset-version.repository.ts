/**
 * The owner of `dataset_versions`. Versions are immutable (a trigger refuses UPDATE), so there are no state changes
 * here: a version is created once and read. Its id is the sha256 of its canonical manifest.
 */
import { type SplitLabelCounts, splitLabelCountsSchema } from '@edgeloop/shared';
import { and, asc, count, desc, eq } from 'drizzle-orm';
import type { Database } from '../db/database';
import { datasetVersions } from '../db/schema';
import { parseStored } from '../db/stored-json';

export interface DatasetVersion {
  id: string;
  projectId: string;
  parentId: string | null;
  message: string;
  itemCount: number;
  counts: SplitLabelCounts;
  manifestBytes: number;
  createdBy: string;
  createdAt: Date;
}

type DatasetVersionRow = typeof datasetVersions.$inferSelect;

/** counts is jsonb: read back through its schema, so the type says what the row holds. */
const toVersion = (row: DatasetVersionRow): DatasetVersion => ({
  ...row,
  counts: parseStored(splitLabelCountsSchema, row.counts, `dataset version ${row.id} counts`),
});

/**
 * Records a version; null when one with this id exists already (a concurrent commit of the same content won:
 * same id, same content).
 */
export async function create(db: Database, version: DatasetVersion): Promise<DatasetVersion | null> {
  const [row] = await db.insert(datasetVersions).values(version).onConflictDoNothing().returning();
  return row ? toVersion(row) : null;
}

export async function find(db: Database, projectId: string, id: string): Promise<DatasetVersion | null> {
  const [row] = await db
    .select()
    .from(datasetVersions)
    .where(and(eq(datasetVersions.projectId, projectId), eq(datasetVersions.id, id)));
  return row ? toVersion(row) : null;
}

/** The project's versions whose id starts with `prefix`. */
export async function withIdPrefix(db: Database, projectId: string, prefix: string): Promise<DatasetVersion[]> {
  const rows = await db.select().from(datasetVersions).where(eq(datasetVersions.projectId, projectId));
  return rows.filter((r) => r.id.startsWith(prefix)).map(toVersion);
}

/** The id of the project's newest version (the parent of the next one), or null when it has none. */
export async function latestId(db: Database, projectId: string): Promise<string | null> {
  const [row] = await db
    .select({ id: datasetVersions.id })
    .from(datasetVersions)
    .where(eq(datasetVersions.projectId, projectId))
    .orderBy(desc(datasetVersions.createdAt))
    .limit(1);
  return row?.id ?? null;
}

/** The project's versions, newest first. */
export async function listOfProject(db: Database, projectId: string): Promise<DatasetVersion[]> {
  const rows = await db
    .select()
    .from(datasetVersions)
    .where(eq(datasetVersions.projectId, projectId))
    .orderBy(desc(datasetVersions.createdAt), asc(datasetVersions.id));
  return rows.map(toVersion);
}

/** How many dataset versions each project has, by project id (projects with none are absent). */
export async function countByProject(db: Database): Promise<Map<string, number>> {
  const rows = await db.select({ projectId: datasetVersions.projectId, n: count() }).from(datasetVersions).groupBy(datasetVersions.projectId);
  return new Map(rows.map((r) => [r.projectId, r.n]));
}
