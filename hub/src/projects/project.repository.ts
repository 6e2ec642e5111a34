/**
 * The owner of the `projects` table: its queries only; the rules (slug format, label checks, not found) are project.service's.
 */
import { projectLabelsSchema } from '@edgeloop/shared';
import { asc, eq, inArray } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import { z } from 'zod';
import type { Database } from '../db/database';
import { projects } from '../db/schema';
import { parseStored } from '../db/stored-json';

export interface Project {
  id: string;
  slug: string;
  name: string;
  labels: string[];
  /** Largest image (width x height) the project accepts. */
  maxImagePixels: number;
  createdBy: string;
  createdAt: Date;
}

type ProjectRow = typeof projects.$inferSelect;

/** labels is jsonb: read back through its schema, so the type says what the row holds. */
const toProject = (row: ProjectRow): Project => ({ ...row, labels: parseStored(projectLabelsSchema, row.labels, `project ${row.slug} labels`) });

/** Makes a project; null when the slug is taken (nothing is written then). */
export async function create(db: Database, project: Omit<Project, 'id'>): Promise<Project | null> {
  const [row] = await db.insert(projects).values(project).onConflictDoNothing({ target: projects.slug }).returning();
  return row ? toProject(row) : null;
}

export async function findBySlug(db: Database, slug: string): Promise<Project | null> {
  const [row] = await db.select().from(projects).where(eq(projects.slug, slug));
  return row ? toProject(row) : null;
}

export async function findById(db: Database, id: string): Promise<Project | null> {
  const [row] = await db.select().from(projects).where(eq(projects.id, id));
  return row ? toProject(row) : null;
}

/** The projects with these slugs (unknown slugs are absent). */
export async function findBySlugs(db: Database, slugs: readonly string[]): Promise<Project[]> {
  if (slugs.length === 0) return [];
  const rows = await db.select().from(projects).where(inArray(projects.slug, [...slugs]));
  return rows.map(toProject);
}

/** Every project, or only those with the given slugs (null = every project); by slug. */
export async function list(db: Database, slugs: readonly string[] | null): Promise<Project[]> {
  const rows = await db
    .select()
    .from(projects)
    .where(slugs ? inArray(projects.slug, [...slugs]) : undefined)
    .orderBy(asc(projects.slug));
  return rows.map(toProject);
}

/** The first `limit` slugs in order. */
export async function firstSlugs(db: Database, limit: number): Promise<string[]> {
  const rows = await db.select({ slug: projects.slug }).from(projects).orderBy(asc(projects.slug)).limit(limit);
  return rows.map((r) => r.slug);
}

/**
 * The slug of the project the row `id` of `table` (a table with a uuid id and a projectId: runs, uploads) belongs to, or
 * null when there is no such row. For the owners of those tables. Any string is safe to pass: what is not a uuid is no row.
 */
export async function slugOfRow(db: Database, table: PgTable & { id: PgColumn; projectId: PgColumn }, id: string): Promise<string | null> {
  if (!z.uuid().safeParse(id).success) return null;
  const [row] = await db.select({ slug: projects.slug }).from(table as PgTable).innerJoin(projects, eq(projects.id, table.projectId)).where(eq(table.id, id));
  return row?.slug ?? null;
}
