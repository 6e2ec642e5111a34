import { DEFAULT_MAX_IMAGE_PIXELS, labelSetSchema, maxImagePixelsSchema, projectSlugSchema, text } from '@edgeloop/shared';
import { z } from 'zod';
import { asc, count, eq, inArray } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import { datasetVersions, items, projects } from '../db/schema';
import type { HubDeps } from '../deps';
import { badRequest, conflict, notFound } from '../errors';

export interface ProjectSummary {
  id: string;
  slug: string;
  name: string;
  labels: string[];
  maxImagePixels: number;
  itemCount: number;
  versionCount: number;
  createdBy: string;
  createdAt: string;
}

export type Project = typeof projects.$inferSelect;

export async function createProject(
  deps: HubDeps,
  input: { slug: string; name?: string; labels: string[]; maxImagePixels?: number; createdBy: string },
): Promise<Project> {
  // The router checks these too; the CLI calls this directly.
  const { slug, name, labels, maxImagePixels } = z
    .object({ slug: projectSlugSchema, name: text(200), labels: labelSetSchema, maxImagePixels: maxImagePixelsSchema })
    .parse({ slug: input.slug, name: input.name?.trim() || input.slug, labels: input.labels, maxImagePixels: input.maxImagePixels ?? DEFAULT_MAX_IMAGE_PIXELS });
  const [row] = await deps.db
    .insert(projects)
    .values({ slug, name, labels, maxImagePixels, createdBy: input.createdBy, createdAt: deps.now() })
    .onConflictDoNothing({ target: projects.slug })
    .returning();
  if (!row) throw conflict(`a project with slug "${slug}" already exists`);
  return row;
}

export async function findProject(deps: HubDeps, slug: string): Promise<Project | undefined> {
  const [row] = await deps.db.select().from(projects).where(eq(projects.slug, slug));
  return row;
}

export async function getProject(deps: HubDeps, slug: string): Promise<Project> {
  const project = await findProject(deps, slug);
  if (!project) throw notFound(`no project "${slug}"`);
  return project;
}

export async function getProjectById(deps: HubDeps, id: string): Promise<Project> {
  const [row] = await deps.db.select().from(projects).where(eq(projects.id, id));
  if (!row) throw notFound(`no project with id ${id}`);
  return row;
}

/** The slugs of the projects with these ids, by id; ids of projects that no longer exist are absent. */
export async function projectSlugsById(deps: HubDeps, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await deps.db.select({ id: projects.id, slug: projects.slug }).from(projects).where(inArray(projects.id, [...ids]));
  return new Map(rows.map((r) => [r.id, r.slug]));
}

/** The projects with these slugs (unknown slugs are absent). */
export async function projectsBySlug(deps: HubDeps, slugs: readonly string[]): Promise<Project[]> {
  if (slugs.length === 0) return [];
  return deps.db.select().from(projects).where(inArray(projects.slug, [...slugs]));
}

/** Every project, or only those named in `scope` (a caller's project scope; null = every project). */
export async function listProjects(deps: HubDeps, scope: readonly string[] | null = null): Promise<ProjectSummary[]> {
  if (scope?.length === 0) return [];
  const [rows, itemCounts, versionCounts] = await Promise.all([
    deps.db
      .select()
      .from(projects)
      .where(scope ? inArray(projects.slug, [...scope]) : undefined)
      .orderBy(asc(projects.slug)),
    deps.db.select({ projectId: items.projectId, n: count() }).from(items).groupBy(items.projectId),
    deps.db.select({ projectId: datasetVersions.projectId, n: count() }).from(datasetVersions).groupBy(datasetVersions.projectId),
  ]);
  const itemsOf = new Map(itemCounts.map((r) => [r.projectId, r.n]));
  const versionsOf = new Map(versionCounts.map((r) => [r.projectId, r.n]));
  return rows.map((project) => ({
    id: project.id,
    slug: project.slug,
    name: project.name,
    labels: project.labels,
    maxImagePixels: project.maxImagePixels,
    itemCount: itemsOf.get(project.id) ?? 0,
    versionCount: versionsOf.get(project.id) ?? 0,
    createdBy: project.createdBy,
    createdAt: project.createdAt.toISOString(),
  }));
}

/**
 * The slug of the project the row `id` of `table` (runs, uploads: anything with an id and a projectId) belongs to, or
 * null when there is no such row. Any string is safe to pass: what is not a uuid is no row.
 */
export async function projectOfRow(deps: HubDeps, table: PgTable & { id: PgColumn; projectId: PgColumn }, id: string): Promise<string | null> {
  if (!z.uuid().safeParse(id).success) return null;
  const [row] = await deps.db.select({ slug: projects.slug }).from(table as PgTable).innerJoin(projects, eq(projects.id, table.projectId)).where(eq(table.id, id));
  return row?.slug ?? null;
}

/** Why `label` is refused (naming the field and the valid labels), or null when it is in the project's label set. */
export function labelProblem(project: Project, label: string, field = 'label'): string | null {
  return project.labels.includes(label) ? null : `${field} "${label}" is not a label of project "${project.slug}"; valid labels: ${project.labels.join(', ')}`;
}

/** Throws a BAD_REQUEST naming the valid labels when `label` is not in the project's label set. */
export function assertKnownLabel(project: Project, label: string, field = 'label'): void {
  const problem = labelProblem(project, label, field);
  if (problem !== null) throw badRequest(problem);
}
