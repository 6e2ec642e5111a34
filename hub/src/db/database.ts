import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { makeTreeOwnerOnly } from '../storage/private-dir';
import { lockDataDir } from './data-dir-lock';
import { MIGRATIONS_FOLDER } from './migration-status';
import * as schema from './schema';

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

/** What the pg-boss queue is given to reach the same database: a URL, or an adapter over PGlite's one session. */
export type QueueConnection = { connectionString: string } | { db: { executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }> } };

export interface DatabaseHandle {
  db: Database;
  kind: 'pglite' | 'postgres';
  queueConnection: QueueConnection;
  /** Applies the pending migrations (on PostgreSQL under the advisory lock, so replicas never race). */
  migrate(): Promise<void>;
  close(): Promise<void>;
}

/** Whether opening applies pending migrations (MIGRATE_ON_START); false leaves them to `edgeloop migrate`. */
export interface OpenOptions {
  migrate?: boolean;
}

const migrationsFolder = MIGRATIONS_FOLDER;

/** Embedded PostgreSQL (PGlite) in `dir`, or in memory when dir is undefined; migrated to the latest schema unless told not to. */
export async function openPglite(dir: string | undefined, options: OpenOptions = {}): Promise<DatabaseHandle> {
  const unlock = dir ? lockDataDir(dir) : () => {};
  try {
    const client = await PGlite.create(dir ? path.join(dir, 'pgdata') : undefined);
    if (dir) makeTreeOwnerOnly(path.join(dir, 'pgdata'));
    const db = drizzlePglite({ client, schema });
    const migrate = () => migratePglite(db, { migrationsFolder });
    if (options.migrate ?? true) await migrate();
    return {
      db: db as unknown as Database,
      kind: 'pglite',
      queueConnection: { db: pgliteQueueAdapter(client) },
      migrate,
      async close() {
        await client.close();
        unlock();
      },
    };
  } catch (error) {
    unlock();
    throw error;
  }
}

/** pg-boss sends multi-statement scripts without parameters (migrations, locks): those go through exec. */
function pgliteQueueAdapter(client: PGlite) {
  return {
    async executeSql(text: string, values?: unknown[]) {
      if (values?.length) return client.query(text, values);
      const results = await client.exec(text);
      return results[results.length - 1] ?? { rows: [] };
    },
  };
}

/** A real PostgreSQL server; several hub processes and workers may share it. */
export async function openPostgres(url: string, options: OpenOptions = {}): Promise<DatabaseHandle> {
  if (options.migrate ?? true) await migrateUnderLock(url);
  const client = postgres(url, { max: 10, onnotice: () => {} });
  return {
    db: drizzlePostgres({ client, schema }) as unknown as Database,
    kind: 'postgres',
    queueConnection: { connectionString: url },
    migrate: () => migrateUnderLock(url),
    close: () => client.end({ timeout: 5 }),
  };
}

/** Two processes starting at once must not both run the migrations: serialize on an advisory lock. */
async function migrateUnderLock(url: string): Promise<void> {
  const client = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await client`select pg_advisory_lock(872356101)`;
    await migratePostgres(drizzlePostgres({ client }), { migrationsFolder });
  } finally {
    await client.end({ timeout: 5 });
  }
}

export function openDatabase(options: { databaseUrl?: string; dataDir: string } & OpenOptions): Promise<DatabaseHandle> {
  return options.databaseUrl ? openPostgres(options.databaseUrl, options) : openPglite(options.dataDir, options);
}
