import { count } from 'drizzle-orm';
import type { Database } from '../db/database';
import { datasetVersions } from '../db/schema';

/** How many dataset versions each project has, by project id (projects with none are absent). */
export async function countByProject(db: Database): Promise<Map<string, number>> {
  const rows = await db.select({ projectId: datasetVersions.projectId, n: count() }).from(datasetVersions).groupBy(datasetVersions.projectId);
  return new Map(rows.map((r) => [r.projectId, r.n]));
}
