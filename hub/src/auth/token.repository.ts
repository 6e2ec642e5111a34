/**
 * The owner of the `api_tokens` table. Only the secret's hash is stored, and no read hands it back.
 */
import { type Role, roleSchema } from '@edgeloop/shared';
import { type SQL, and, count, desc, eq, isNotNull, isNull, lte, or, sql } from 'drizzle-orm';
import type { Database } from '../db/database';
import { apiTokens, projects } from '../db/schema';

/** What authenticating a token yields: who it is and its scope. */
export interface TokenIdentity {
  id: string;
  name: string;
  role: Role;
  /** Ids of the projects the token may act on; null = every project (admin, unscoped engineer, or a token from before scopes). */
  projectIds: string[] | null;
  /** The slugs of those projects as they are now, sorted (deleted ones left out); null = every project. */
  projectSlugs: string[] | null;
}

export interface StoredToken extends TokenIdentity {
  createdBy: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** The slugs of the projects in the token's scope as they are now (deleted ones left out); null = every project. */
const projectSlugs = sql<string[] | null>`case when ${apiTokens.projectIds} is null then null
  else coalesce((select array_agg(${projects.slug}) from ${projects} where ${projects.id} = any(${apiTokens.projectIds})), '{}') end`;

const identity = { id: apiTokens.id, name: apiTokens.name, role: apiTokens.role, projectIds: apiTokens.projectIds, projectSlugs };

const stored = {
  ...identity,
  createdBy: apiTokens.createdBy,
  createdAt: apiTokens.createdAt,
  lastUsedAt: apiTokens.lastUsedAt,
  revokedAt: apiTokens.revokedAt,
};

/** role is text with a CHECK constraint: parsed so the type names the roles; the scope's slugs sorted. */
const withRole = <T extends { role: string; projectSlugs: string[] | null }>(row: T): T & { role: Role } => ({
  ...row,
  role: roleSchema.parse(row.role),
  projectSlugs: row.projectSlugs ? [...row.projectSlugs].sort() : null,
});

export async function create(
  db: Database,
  token: { name: string; role: Role; secretHash: string; createdBy: string; createdAt: Date; projectIds: string[] | null },
): Promise<StoredToken> {
  const [row] = await db.insert(apiTokens).values(token).returning(stored);
  return withRole(row!);
}

/** A token's last use is written at most this often: it says "when", to the minute. */
export const LAST_USE_RESOLUTION_MS = 60_000;

/**
 * The active (not revoked) token with this secret hash, its use recorded; null when there is none. The use is written
 * only when the stored one is a minute old: a write per request made every request of one token (a fleet of devices
 * shares one) wait on the one before, for the row's lock and its commit.
 */
export async function markUsed(db: Database, secretHash: string, at: Date): Promise<TokenIdentity | null> {
  // One query for the token and its scope's slugs: every request asks.
  const [row] = await db
    .select({ ...identity, lastUsedAt: apiTokens.lastUsedAt })
    .from(apiTokens)
    .where(and(eq(apiTokens.secretHash, secretHash), isNull(apiTokens.revokedAt)));
  if (!row) return null;
  const { lastUsedAt, ...used } = row;
  const staleBefore = new Date(at.getTime() - LAST_USE_RESOLUTION_MS);
  if (!lastUsedAt || lastUsedAt <= staleBefore) {
    // Several requests may find it stale at once; the condition lets one write and the others skip.
    await db
      .update(apiTokens)
      .set({ lastUsedAt: at })
      .where(and(eq(apiTokens.id, used.id), or(isNull(apiTokens.lastUsedAt), lte(apiTokens.lastUsedAt, staleBefore))));
  }
  return withRole(used);
}

/** Which tokens a listing shows: all of them, the active ones (not revoked), or the revoked ones. */
export type TokenStatus = 'all' | 'active' | 'revoked';

const statusWhere = (status: TokenStatus): SQL | undefined =>
  status === 'active' ? isNull(apiTokens.revokedAt) : status === 'revoked' ? isNotNull(apiTokens.revokedAt) : undefined;

/** Every token, revoked ones too, newest first (the CLI's listing). */
export async function list(db: Database): Promise<StoredToken[]> {
  const rows = await db.select(stored).from(apiTokens).orderBy(desc(apiTokens.createdAt), desc(apiTokens.id));
  return rows.map(withRole);
}

/** One page of tokens, newest first, and how many there are in all with this status. */
export async function listPage(db: Database, page: { status: TokenStatus; limit: number; offset: number }): Promise<{ rows: StoredToken[]; total: number }> {
  const where = statusWhere(page.status);
  const rows = await db.select(stored).from(apiTokens).where(where).orderBy(desc(apiTokens.createdAt), desc(apiTokens.id)).limit(page.limit).offset(page.offset);
  const [counted] = await db.select({ n: count() }).from(apiTokens).where(where);
  return { rows: rows.map(withRole), total: counted!.n };
}

/** Revokes an active token; null when there is no active token with this id. */
export async function revoke(db: Database, id: string, at: Date): Promise<StoredToken | null> {
  const [row] = await db
    .update(apiTokens)
    .set({ revokedAt: at })
    .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)))
    .returning(stored);
  return row ? withRole(row) : null;
}

export async function countActiveAdmins(db: Database): Promise<number> {
  const rows = await db
    .select({ id: apiTokens.id })
    .from(apiTokens)
    .where(and(eq(apiTokens.role, 'admin'), isNull(apiTokens.revokedAt)));
  return rows.length;
}
