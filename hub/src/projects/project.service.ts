import { DEFAULT_MAX_IMAGE_PIXELS, labelSetSchema, maxImagePixelsSchema, projectSlugSchema, text } from '@edgeloop/shared';
import { z } from 'zod';
import * as datasetVersions from '../datasets/dataset-version.repository';
import * as items from '../datasets/item.repository';
import type { HubDeps } from '../deps';
import { badRequest, conflict, notFound } from '../errors';
import type { Project } from './project.repository';
import * as projects from './project.repository';

/** A project as listed: what its owner stores, with how many items and dataset versions it has; the date as ISO 8601. */
export type ProjectSummary = Omit<Project, 'createdAt'> & { itemCount: number; versionCount: number; createdAt: string };

export async function createProject(
  deps: HubDeps,
  input: { slug: string; name?: string; labels: string[]; maxImagePixels?: number; createdBy: string },
): Promise<Project> {
  // The router checks these too; the CLI calls this directly.
  const { slug, name, labels, maxImagePixels } = z
    .object({ slug: projectSlugSchema, name: text(200), labels: labelSetSchema, maxImagePixels: maxImagePixelsSchema })
    .parse({ slug: input.slug, name: input.name?.trim() || input.slug, labels: input.labels, maxImagePixels: input.maxImagePixels ?? DEFAULT_MAX_IMAGE_PIXELS });
  const row = await projects.create(deps.db, { slug, name, labels, maxImagePixels, createdBy: input.createdBy, createdAt: deps.now() });
  if (!row) throw conflict(`a project with slug "${slug}" already exists`);
  return row;
}

export function findProject(deps: HubDeps, slug: string): Promise<Project | null> {
  return projects.findBySlug(deps.db, slug);
}

export async function getProject(deps: HubDeps, slug: string): Promise<Project> {
  const project = await findProject(deps, slug);
  if (!project) throw notFound(`no project "${slug}"`);
  return project;
}

export async function getProjectById(deps: HubDeps, id: string): Promise<Project> {
  const row = await projects.findById(deps.db, id);
  if (!row) throw notFound(`no project with id ${id}`);
  return row;
}

/** Every project, or only those named in `scope` (a caller's project scope; null = every project). */
export async function listProjects(deps: HubDeps, scope: readonly string[] | null = null): Promise<ProjectSummary[]> {
  if (scope?.length === 0) return [];
  const [rows, itemsOf, versionsOf] = await Promise.all([
    projects.list(deps.db, scope),
    items.countByProject(deps.db),
    datasetVersions.countByProject(deps.db),
  ]);
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

/** Why `label` is refused (naming the field and the valid labels), or null when it is in the project's label set. */
export function labelProblem(project: Project, label: string, field = 'label'): string | null {
  return project.labels.includes(label) ? null : `${field} "${label}" is not a label of project "${project.slug}"; valid labels: ${project.labels.join(', ')}`;
}

/** Throws a BAD_REQUEST naming the valid labels when `label` is not in the project's label set. */
export function assertKnownLabel(project: Project, label: string, field = 'label'): void {
  const problem = labelProblem(project, label, field);
  if (problem !== null) throw badRequest(problem);
}
