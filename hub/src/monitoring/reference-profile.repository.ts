/**
 * The reference_profiles table: one profile per model version, the reference every detector compares production with.
 * A profile goes computing -> ready | failed; a failed one may be reset to computing (a retry), a ready one never
 * changes again (a database trigger refuses any UPDATE of it, as of its model version). The summary (numbers people
 * read) is read back through shared's contract; the arrays (what detectors compute with) stay packed bytes here.
 */
import { type StoredReferenceProfileSummary, storedReferenceProfileSummarySchema } from '@edgeloop/shared';
import { and, eq, lt, sql } from 'drizzle-orm';
import type { Database } from '../db/database';
import { referenceProfiles } from '../db/schema';
import { parseStored } from '../db/stored-json';

export type ProfileStatus = 'computing' | 'ready' | 'failed';

/** A profile's row without its arrays (what status checks and the admin read). */
export interface ProfileRow {
  modelVersionId: string;
  status: ProfileStatus;
  error: string | null;
  /** The weight encoding the profile was computed with (the version's recommended one). */
  encoding: string | null;
  summary: StoredReferenceProfileSummary | null;
  sha256: string | null;
  createdAt: Date;
  completedAt: Date | null;
}

export interface ProfileRowWithArrays extends ProfileRow {
  /** packProfileArrays' bytes; present on ready rows. */
  arrays: Uint8Array | null;
}

const columns = {
  modelVersionId: referenceProfiles.modelVersionId,
  status: referenceProfiles.status,
  error: referenceProfiles.error,
  encoding: referenceProfiles.encoding,
  summary: referenceProfiles.summary,
  sha256: referenceProfiles.sha256,
  createdAt: referenceProfiles.createdAt,
  completedAt: referenceProfiles.completedAt,
};

function toRow<R extends Omit<ProfileRow, 'status' | 'summary'> & { status: string; summary: unknown }>(row: R): Omit<R, 'status' | 'summary'> & Pick<ProfileRow, 'status' | 'summary'> {
  return {
    ...row,
    status: row.status as ProfileStatus,
    summary: row.summary === null ? null : parseStored(storedReferenceProfileSummarySchema, row.summary, `reference profile of model version ${row.modelVersionId} summary`),
  };
}

/**
 * Claims the computation: inserts a computing row, or resets a failed one to computing (error and encoding cleared, created_at =
 * `at`, so staleness counts from the retry). Returns the row now stored and whether this call started it; a row
 * already computing or ready is returned unchanged with started = false.
 */
export async function startComputing(db: Database, modelVersionId: string, at: Date): Promise<{ started: boolean; row: ProfileRow }> {
  const [inserted] = await db
    .insert(referenceProfiles)
    .values({ modelVersionId, status: 'computing', createdAt: at })
    .onConflictDoUpdate({
      target: referenceProfiles.modelVersionId,
      set: { status: 'computing', error: null, encoding: null, createdAt: at, completedAt: null },
      setWhere: sql`${referenceProfiles.status} = 'failed'`,
    })
    .returning(columns);
  if (inserted) return { started: true, row: toRow(inserted) };
  return { started: false, row: (await byVersion(db, modelVersionId))! };
}

/**
 * A computing row whose computation has been running since before `before` (its worker was lost) is claimed again:
 * created_at moves to `at`. True when this call took it over.
 */
export async function reclaimStale(db: Database, modelVersionId: string, stale: { before: Date; at: Date }): Promise<boolean> {
  const rows = await db
    .update(referenceProfiles)
    .set({ createdAt: stale.at })
    .where(and(eq(referenceProfiles.modelVersionId, modelVersionId), eq(referenceProfiles.status, 'computing'), lt(referenceProfiles.createdAt, stale.before)))
    .returning({ id: referenceProfiles.modelVersionId });
  return rows.length > 0;
}

/** computing -> ready, with everything computed. False when the row was not computing (another worker finished it first). */
export async function markReady(
  db: Database,
  modelVersionId: string,
  profile: { encoding: string; summary: StoredReferenceProfileSummary; arrays: Uint8Array; sha256: string; at: Date },
): Promise<boolean> {
  const rows = await db
    .update(referenceProfiles)
    .set({ status: 'ready', error: null, encoding: profile.encoding, summary: profile.summary, arrays: profile.arrays, sha256: profile.sha256, completedAt: profile.at })
    .where(and(eq(referenceProfiles.modelVersionId, modelVersionId), eq(referenceProfiles.status, 'computing')))
    .returning({ id: referenceProfiles.modelVersionId });
  return rows.length > 0;
}

/** computing -> failed, with why in words for an engineer. False when the row was not computing. */
export async function markFailed(db: Database, modelVersionId: string, failure: { error: string; encoding: string | null; at: Date }): Promise<boolean> {
  const rows = await db
    .update(referenceProfiles)
    .set({ status: 'failed', error: failure.error, encoding: failure.encoding, completedAt: failure.at })
    .where(and(eq(referenceProfiles.modelVersionId, modelVersionId), eq(referenceProfiles.status, 'computing')))
    .returning({ id: referenceProfiles.modelVersionId });
  return rows.length > 0;
}

/** The version's profile without its arrays, or null when none was ever started. */
export async function byVersion(db: Database, modelVersionId: string): Promise<ProfileRow | null> {
  const [row] = await db.select(columns).from(referenceProfiles).where(eq(referenceProfiles.modelVersionId, modelVersionId));
  return row ? toRow(row) : null;
}

/** The version's profile with its packed arrays, or null when none was ever started. */
export async function withArrays(db: Database, modelVersionId: string): Promise<ProfileRowWithArrays | null> {
  const [row] = await db
    .select({ ...columns, arrays: referenceProfiles.arrays })
    .from(referenceProfiles)
    .where(eq(referenceProfiles.modelVersionId, modelVersionId));
  return row ? toRow(row) : null;
}
