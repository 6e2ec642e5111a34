/**
 * The owner of the `api_tokens` table. Only the secret's hash is stored, and no read hands it back.
 */
import { type Role, roleSchema } from '@edgeloop/shared';
import { and, desc, eq, isNull } from 'drizzle-orm';
import type { Database } from '../db/database';
import { apiTokens } from '../db/schema';

export interface StoredToken {
  id: string;
  name: string;
  role: Role;
  createdBy: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  /** Ids of the projects the token may act on; null = every project (admin, unscoped engineer, or a token from before scopes). */
  projectIds: string[] | null;
}

/** What authenticating a token yields: who it is and its scope. */
export interface TokenIdentity {
  id: string;
  name: string;
  role: Role;
  projectIds: string[] | null;
}

const stored = {
  id: apiTokens.id,
  name: apiTokens.name,
  role: apiTokens.role,
  createdBy: apiTokens.createdBy,
  createdAt: apiTokens.createdAt,
  lastUsedAt: apiTokens.lastUsedAt,
  revokedAt: apiTokens.revokedAt,
  projectIds: apiTokens.projectIds,
};

// role is text with a CHECK constraint; parsed so the type names the roles.
const withRole = <T extends { role: string }>(row: T): T & { role: Role } => ({ ...row, role: roleSchema.parse(row.role) });

export async function create(
  db: Database,
  token: { name: string; role: Role; secretHash: string; createdBy: string; createdAt: Date; projectIds: string[] | null },
): Promise<StoredToken> {
  const [row] = await db.insert(apiTokens).values(token).returning(stored);
  return withRole(row!);
}

/** Records a use of the active (not revoked) token with this secret hash; null when there is none. */
export async function markUsed(db: Database, secretHash: string, at: Date): Promise<TokenIdentity | null> {
  const [row] = await db
    .update(apiTokens)
    .set({ lastUsedAt: at })
    .where(and(eq(apiTokens.secretHash, secretHash), isNull(apiTokens.revokedAt)))
    .returning({ id: apiTokens.id, name: apiTokens.name, role: apiTokens.role, projectIds: apiTokens.projectIds });
  return row ? withRole(row) : null;
}

/** Every token, revoked ones too, newest first. */
export async function list(db: Database): Promise<StoredToken[]> {
  const rows = await db.select(stored).from(apiTokens).orderBy(desc(apiTokens.createdAt));
  return rows.map(withRole);
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
