/**
 * Where the database's schema stands against the migrations this build ships (drizzle/meta/_journal.json), by the
 * rule drizzle's migrator applies: a shipped migration is pending when it is newer than the newest one the database
 * recorded in drizzle.__drizzle_migrations.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import type { Database } from './database';

export const MIGRATIONS_FOLDER = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../drizzle');

/** One migration as the journal lists it: `when` is what drizzle records as created_at. */
export interface ShippedMigration {
  tag: string;
  when: number;
}

export interface MigrationStatus {
  /** The shipped migrations the database has not applied yet, oldest first. */
  pending: ShippedMigration[];
  /** Migrations the database recorded that are newer than any this build ships (a newer release migrated it). */
  ahead: number;
}

let shipped: ShippedMigration[] | null = null;

/** The migrations this build ships, oldest first (read once: the folder is part of the build). */
export function shippedMigrations(): ShippedMigration[] {
  if (!shipped) {
    const journal = JSON.parse(fs.readFileSync(path.join(MIGRATIONS_FOLDER, 'meta/_journal.json'), 'utf8')) as { entries: ShippedMigration[] };
    shipped = journal.entries.map(({ tag, when }) => ({ tag, when })).sort((a, b) => a.when - b.when);
  }
  return shipped;
}

export async function migrationStatus(db: Database): Promise<MigrationStatus> {
  const all = shippedMigrations();
  const [table] = await rowsOf<{ present: boolean }>(db, sql`select to_regclass('drizzle.__drizzle_migrations') is not null as present`);
  if (!table?.present) return { pending: all, ahead: 0 };
  const [recorded] = await rowsOf<{ last: string | null; newer: number }>(
    db,
    sql`select max(created_at)::text as last, count(*) filter (where created_at > ${all.at(-1)?.when ?? 0})::int as newer from drizzle.__drizzle_migrations`,
  );
  const last = recorded?.last === null || recorded?.last === undefined ? null : Number(recorded.last);
  return { pending: last === null ? all : all.filter((m) => m.when > last), ahead: recorded?.newer ?? 0 };
}

/** Raw query rows: postgres-js answers an array, PGlite an object with rows. */
async function rowsOf<T>(db: Database, query: ReturnType<typeof sql>): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as T[] | { rows: T[] };
  return Array.isArray(result) ? result : result.rows;
}
