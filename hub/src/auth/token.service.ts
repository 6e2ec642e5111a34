import crypto from 'node:crypto';
import { PROJECT_SCOPED_ROLES, type Role, projectSlugSchema, roleSchema } from '@edgeloop/shared';
import { z } from 'zod';
import type { Caller, HubDeps } from '../deps';
import { badRequest, notFound } from '../errors';
import * as projects from '../projects/project.repository';
import * as tokens from './token.repository';

const TOKEN_PREFIX = 'elt_';
/** A token lists at most this many projects; more is a sign an engineer (unscoped) token is wanted. */
export const MAX_TOKEN_PROJECTS = 100;
/** A token's scope as asked for: the router takes its input with this, and createToken checks it again for the CLI. */
export const tokenProjectsSchema = z
  .array(projectSlugSchema)
  .min(1, 'name at least one project, or leave projects out')
  .max(MAX_TOKEN_PROJECTS, `at most ${MAX_TOKEN_PROJECTS} projects per token; use an engineer token without projects for more`);

export const isProjectScopedRole = (role: Role): boolean => (PROJECT_SCOPED_ROLES as readonly Role[]).includes(role);

/** A token as listed: what its owner stores, dates as ISO 8601, and its scope by project slug instead of id. */
export type TokenSummary = Omit<tokens.StoredToken, 'createdAt' | 'lastUsedAt' | 'revokedAt' | 'projectIds' | 'projectSlugs'> & {
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  /** Slugs of the projects the token may act on; null = every project (admin, unscoped engineer, or a token from before scopes). */
  projects: string[] | null;
};

export function hashSecret(secret: string): string {
  return crypto.createHash('sha256').update(secret).digest('hex');
}

/**
 * Makes a token; the secret is returned once and only its hash is stored. `projects` (slugs) is the token's scope:
 * required for device, labeler and ci tokens, optional for engineer ones (left out = every project), refused for admin ones.
 */
export async function createToken(
  deps: HubDeps,
  input: { name: string; role: Role; createdBy: string; projects?: readonly string[] | null },
): Promise<{ token: TokenSummary; secret: string }> {
  const role = roleSchema.parse(input.role);
  const name = input.name.trim();
  if (!name) throw badRequest('name must not be empty');
  const projectIds = await scopeFor(deps, role, input.projects ?? null);
  const secret = TOKEN_PREFIX + crypto.randomBytes(32).toString('base64url');
  const row = await tokens.create(deps.db, { name, role, secretHash: hashSecret(secret), createdBy: input.createdBy, createdAt: deps.now(), projectIds });
  return { token: toSummary(row), secret };
}

/** Checks a requested scope against the role and the known projects; returns the project ids to store (null = every project). */
async function scopeFor(deps: HubDeps, role: Role, requested: readonly string[] | null): Promise<string[] | null> {
  if (requested === null) {
    if (isProjectScopedRole(role)) {
      throw badRequest(`projects: a ${role} token must name the project(s) it acts in (--project <slug>[,<slug>...]); ${await knownProjects(deps)}`);
    }
    return null;
  }
  if (role === 'admin') throw badRequest('projects: admin tokens act on every project and take no projects; create an engineer token to limit one to projects');
  const checked = tokenProjectsSchema.safeParse(requested);
  if (!checked.success) throw badRequest(checked.error.issues.map((issue) => `${['projects', ...issue.path].join('.')}: ${issue.message}`).join('; '));
  const slugs = [...new Set(checked.data)];
  const found = await projects.findBySlugs(deps.db, slugs);
  const unknown = slugs.filter((slug) => !found.some((p) => p.slug === slug));
  if (unknown.length > 0) throw badRequest(`projects: no project ${unknown.map((s) => `"${s}"`).join(', ')}; ${await knownProjects(deps)}`);
  return found.map((p) => p.id);
}

/** "known projects: a, b, c" (the first 20), for errors that must list the valid values. */
async function knownProjects(deps: HubDeps): Promise<string> {
  const slugs = await projects.firstSlugs(deps.db, 21);
  if (slugs.length === 0) return 'there are no projects yet: create one first';
  const shown = slugs.slice(0, 20).join(', ');
  return `known projects: ${shown}${slugs.length > 20 ? ', ...' : ''}`;
}

/** The caller a bearer secret stands for, or null for an unknown or revoked token. */
export async function authenticate(deps: HubDeps, secret: string): Promise<Caller | null> {
  if (!secret.startsWith(TOKEN_PREFIX)) return null;
  const row = await tokens.markUsed(deps.db, hashSecret(secret), deps.now());
  if (!row) return null;
  // Slugs are looked up on every request, so the scope always names the projects as they are now.
  return { tokenId: row.id, name: row.name, role: row.role, projects: row.projectSlugs };
}

export async function listTokens(deps: HubDeps): Promise<TokenSummary[]> {
  return (await tokens.list(deps.db)).map(toSummary);
}

/** Most tokens one page lists. */
export const MAX_TOKEN_PAGE = 100;

/** One page of tokens, newest first (never their secrets or hashes), with the count of all that match. */
export async function listTokenPage(
  deps: HubDeps,
  input: { status: tokens.TokenStatus; limit: number; offset: number },
): Promise<{ tokens: TokenSummary[]; total: number; limit: number; offset: number }> {
  const { rows, total } = await tokens.listPage(deps.db, input);
  return { tokens: rows.map(toSummary), total, limit: input.limit, offset: input.offset };
}

export async function revokeToken(deps: HubDeps, id: string): Promise<TokenSummary> {
  const row = await tokens.revoke(deps.db, id, deps.now());
  if (!row) throw notFound(`no active token with id ${id}`);
  return toSummary(row);
}

export function countActiveAdminTokens(deps: HubDeps): Promise<number> {
  return tokens.countActiveAdmins(deps.db);
}

/** A token as clients see it: its scope by slug (projects deleted since are left out: the scope only ever shrinks). */
function toSummary(row: tokens.StoredToken): TokenSummary {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
    projects: row.projectSlugs,
  };
}
