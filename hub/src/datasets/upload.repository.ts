/**
 * The owner of `uploads`: browser uploads in flight, each a presigned PUT to a staging key awaiting verification.
 */
import type { Split } from '@edgeloop/shared';
import { eq, inArray, lt } from 'drizzle-orm';
import type { Database } from '../db/database';
import { uploads } from '../db/schema';
import * as projects from '../projects/project.repository';

export interface Upload {
  id: string;
  projectId: string;
  sha256: string;
  bytes: number;
  contentType: string;
  label: string;
  split: Split;
  createdBy: string;
  /** Who may complete it: the token, not its name (names are not unique). Null only for uploads started before this was kept. */
  createdByTokenId: string | null;
  createdAt: Date;
  expiresAt: Date;
}

/** Records an upload in flight; returns its id. */
export async function create(db: Database, upload: Omit<Upload, 'id'>): Promise<string> {
  const [row] = await db.insert(uploads).values(upload).returning({ id: uploads.id });
  return row!.id;
}

export async function find(db: Database, id: string): Promise<Upload | null> {
  const [row] = await db.select().from(uploads).where(eq(uploads.id, id));
  // Written only by create, which takes a Split.
  return row ? { ...row, split: row.split as Split } : null;
}

export async function remove(db: Database, id: string): Promise<void> {
  await db.delete(uploads).where(eq(uploads.id, id));
}

export async function removeMany(db: Database, ids: readonly string[]): Promise<void> {
  await db.delete(uploads).where(inArray(uploads.id, [...ids]));
}

/** Ids of (at most `limit`) uploads that expired before `before`. */
export async function expiredBefore(db: Database, before: Date, limit: number): Promise<string[]> {
  const rows = await db.select({ id: uploads.id }).from(uploads).where(lt(uploads.expiresAt, before)).limit(limit);
  return rows.map((r) => r.id);
}

/** The slug of the project an upload belongs to, or null when there is no such upload (any string is safe to pass). */
export const projectSlugOf = (db: Database, uploadId: string): Promise<string | null> => projects.slugOfRow(db, uploads, uploadId);
