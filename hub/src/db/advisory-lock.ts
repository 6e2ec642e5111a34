/**
 * Transaction-scoped PostgreSQL advisory locks, named by a string key: every process on the database that takes the
 * lock of the same key waits for the one holding it, and a lock is released when its transaction ends (commit,
 * rollback, or a lost connection), so none is ever left behind. The owner of what a lock guards builds its key.
 */
import { sql } from 'drizzle-orm';
import type { Database } from './database';

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
