import { count } from 'drizzle-orm';
import type { Database } from '../db/database';
import { items } from '../db/schema';

/** How many items each project's working set holds, by project id (projects with none are absent). */
export async function countByProject(db: Database): Promise<Map<string, number>> {
  const rows = await db.select({ projectId: items.projectId, n: count() }).from(items).groupBy(items.projectId);
  return new Map(rows.map((r) => [r.projectId, r.n]));
}
