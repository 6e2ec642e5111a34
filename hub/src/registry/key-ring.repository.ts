/**
 * The signing_key_ring and signing_keys tables. signing_key_ring mirrors the public entries of the key ring file
 * (key-ring.ts keeps the files and the rules); signing_keys is where older hubs kept private keys, emptied at start.
 * Every change of a ring is made holding one advisory lock, shared by every process on the database: inRingLock.
 */
import { asc, inArray, sql } from 'drizzle-orm';
import { takeAdvisoryLock, withAdvisoryLock } from '../db/advisory-lock';
import type { Database } from '../db/database';
import { signingKeyRing, signingKeys } from '../db/schema';

export type RingKeyRow = typeof signingKeyRing.$inferSelect;
export type LegacyKeyRow = typeof signingKeys.$inferSelect;

/** The advisory lock key of the ring: every process changing the ring takes it. */
export const RING_LOCK_KEY = 'edgeloop.keyring';

/** Runs `work` in a transaction holding the ring lock until it ends. */
export async function inRingLock<T>(db: Database, work: (tx: Database) => Promise<T>): Promise<T> {
  return withAdvisoryLock(db, RING_LOCK_KEY, work);
}

/** The ring's public entries as the database knows them. */
export async function listRing(db: Database): Promise<RingKeyRow[]> {
  return db.select().from(signingKeyRing);
}

/** Replaces the database's copy of the ring with `keys` (call it inside inRingLock). */
export async function replaceRing(tx: Database, keys: RingKeyRow[]): Promise<void> {
  await tx.delete(signingKeyRing);
  await tx.insert(signingKeyRing).values(keys);
}

/**
 * Hands the legacy key rows, oldest first, to `move` and deletes them, in one transaction: the rows are locked
 * (FOR UPDATE) before anything else, then the ring lock is taken, so two hubs starting at once move them once.
 * Returns how many rows were moved (0 without taking the ring lock when there are none).
 */
export async function takeLegacyKeys(db: Database, move: (rows: LegacyKeyRow[]) => void | Promise<void>): Promise<number> {
  return db.transaction(async (tx) => {
    const rows = await tx.select().from(signingKeys).orderBy(asc(signingKeys.createdAt)).for('update');
    if (rows.length === 0) return 0;
    await takeAdvisoryLock(tx, RING_LOCK_KEY);
    await move(rows);
    await tx.delete(signingKeys).where(inArray(signingKeys.id, rows.map((r) => r.id)));
    return rows.length;
  });
}

/** Rewrites signing_keys so the bytes of deleted rows leave its data file. */
export async function vacuumLegacyKeys(db: Database): Promise<void> {
  await db.execute(sql`vacuum full signing_keys`);
}
