/**
 * Transaction-scoped PostgreSQL advisory locks, named by a string key: every process on the database that takes the
 * lock of the same key waits for the one holding it, and a lock is released when its transaction ends (commit,
 * rollback, or a lost connection), so none is ever left behind. The owner of what a lock guards builds its key.
 */
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { Database } from './database';
import { rowsOf } from './raw-rows';

/** Waits for and takes the lock of `key` inside the transaction `tx`; it is held until the transaction ends. */
export async function takeAdvisoryLock(tx: Database, key: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`);
}

/** Runs `work` in a transaction holding the lock of `key` until it ends. */
export async function withAdvisoryLock<T>(db: Database, key: string, work: (tx: Database) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await takeAdvisoryLock(tx, key);
    return work(tx);
  });
}

/**
 * Runs `work` unless another holder of the lock of `key` is running it now: then answers null at once (its pass does
 * the work). For periodic passes every process runs on a timer: with N processes on the database, at most one pass
 * runs at a time and the others skip theirs. On PostgreSQL the lock is a transaction-scoped try-lock held on one
 * pooled connection while `work` runs on the others (so it is released even if the process dies). PGlite is one
 * process's database (its data directory is locked) and has a single session, where a transaction would block the
 * work's own queries: there, passes of this process take turns on an in-process flag instead.
 */
export async function unlessBusy<T>(db: Database, key: string, work: () => Promise<T>): Promise<T | null> {
  if (isPglite(db)) {
    const busy = busyKeys.get(db) ?? new Set<string>();
    busyKeys.set(db, busy);
    if (busy.has(key)) return null;
    busy.add(key);
    try {
      return await work();
    } finally {
      busy.delete(key);
    }
  }
  return db.transaction(async (tx) => {
    const [row] = await rowsOf<{ taken: boolean }>(tx, sql`select pg_try_advisory_xact_lock(hashtextextended(${key}, 0)) as taken`);
    return row?.taken ? work() : null;
  });
}

const busyKeys = new WeakMap<Database, Set<string>>();
const isPglite = (db: Database) => (db as { $client?: unknown }).$client instanceof PGlite;
