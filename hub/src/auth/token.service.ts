import crypto from 'node:crypto';
import { type Role, roleSchema } from '@edgeloop/shared';
import { and, desc, eq, isNull } from 'drizzle-orm';
import { apiTokens } from '../db/schema';
import type { Caller, HubDeps } from '../deps';
import { badRequest, notFound } from '../errors';

const TOKEN_PREFIX = 'elt_';

export interface TokenSummary {
  id: string;
  name: string;
  role: Role;
  createdBy: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export function hashSecret(secret: string): string {
  return crypto.createHash('sha256').update(secret).digest('hex');
}

/** Makes a token; the secret is returned once and only its hash is stored. */
export async function createToken(
  deps: HubDeps,
  input: { name: string; role: Role; createdBy: string },
): Promise<{ token: TokenSummary; secret: string }> {
  const role = roleSchema.parse(input.role);
  const name = input.name.trim();
  if (!name) throw badRequest('name must not be empty');
  const secret = TOKEN_PREFIX + crypto.randomBytes(32).toString('base64url');
  const [row] = await deps.db
    .insert(apiTokens)
    .values({ name, role, secretHash: hashSecret(secret), createdBy: input.createdBy, createdAt: deps.now() })
    .returning();
  return { token: toSummary(row!), secret };
}

/** The caller a bearer secret stands for, or null for an unknown or revoked token. */
export async function authenticate(deps: HubDeps, secret: string): Promise<Caller | null> {
  if (!secret.startsWith(TOKEN_PREFIX)) return null;
  const [row] = await deps.db
    .update(apiTokens)
    .set({ lastUsedAt: deps.now() })
    .where(and(eq(apiTokens.secretHash, hashSecret(secret)), isNull(apiTokens.revokedAt)))
    .returning({ id: apiTokens.id, name: apiTokens.name, role: apiTokens.role });
  return row ? { tokenId: row.id, name: row.name, role: roleSchema.parse(row.role) } : null;
}

export async function listTokens(deps: HubDeps): Promise<TokenSummary[]> {
  const rows = await deps.db.select().from(apiTokens).orderBy(desc(apiTokens.createdAt));
  return rows.map(toSummary);
}

export async function revokeToken(deps: HubDeps, id: string): Promise<TokenSummary> {
  const [row] = await deps.db
    .update(apiTokens)
    .set({ revokedAt: deps.now() })
    .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)))
    .returning();
  if (!row) throw notFound(`no active token with id ${id}`);
  return toSummary(row);
}

export async function countActiveAdminTokens(deps: HubDeps): Promise<number> {
  const rows = await deps.db
    .select({ id: apiTokens.id })
    .from(apiTokens)
    .where(and(eq(apiTokens.role, 'admin'), isNull(apiTokens.revokedAt)));
  return rows.length;
}

function toSummary(row: typeof apiTokens.$inferSelect): TokenSummary {
  return {
    id: row.id,
    name: row.name,
    role: roleSchema.parse(row.role),
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
}
