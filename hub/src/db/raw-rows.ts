import type { SQL } from 'drizzle-orm';
import type { Database } from './database';

/** Raw query rows: postgres-js answers an array, PGlite an object with rows. */
export async function rowsOf<T>(db: Database, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as T[] | { rows: T[] };
  return Array.isArray(result) ? result : result.rows;
}
