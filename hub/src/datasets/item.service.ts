import { type Split, splitSchema } from '@edgeloop/shared';
import { and, asc, count, eq, gt } from 'drizzle-orm';
import { blobs, items } from '../db/schema';
import type { HubDeps } from '../deps';
import { notFound } from '../errors';
import { assertKnownLabel, getProject } from '../projects/project.service';

export interface ItemSummary {
  sha256: string;
  label: string;
  split: Split;
  source: string;
  contentType: string;
  width: number;
  height: number;
  updatedAt: string;
}

/** A page of a project's working set, ordered by sha256; pass the last sha256 as `after` for the next page. */
export async function listItems(
  deps: HubDeps,
  input: { project: string; label?: string; split?: Split; after?: string; limit: number },
): Promise<{ items: ItemSummary[]; total: number; nextAfter: string | null }> {
  const project = await getProject(deps, input.project);
  if (input.label !== undefined) assertKnownLabel(project, input.label);
  const filter = and(
    eq(items.projectId, project.id),
    input.label !== undefined ? eq(items.label, input.label) : undefined,
    input.split !== undefined ? eq(items.split, input.split) : undefined,
  );
  const [rows, [totals]] = await Promise.all([
    deps.db
      .select({ item: items, blob: blobs })
      .from(items)
      .innerJoin(blobs, eq(blobs.sha256, items.sha256))
      .where(and(filter, input.after ? gt(items.sha256, input.after) : undefined))
      .orderBy(asc(items.sha256))
      .limit(input.limit),
    deps.db.select({ total: count() }).from(items).where(filter),
  ]);
  const page = rows.map(({ item, blob }) => ({
    sha256: item.sha256,
    label: item.label,
    split: splitSchema.parse(item.split),
    source: item.source,
    contentType: blob.contentType,
    width: blob.width,
    height: blob.height,
    updatedAt: item.updatedAt.toISOString(),
  }));
  return { items: page, total: totals?.total ?? 0, nextAfter: page.length === input.limit ? page.at(-1)!.sha256 : null };
}

/** Changes an item's label and/or split in the working set; committed versions keep what they had. */
export async function updateItem(
  deps: HubDeps,
  input: { project: string; sha256: string; label?: string; split?: Split },
): Promise<{ sha256: string; label: string; split: Split }> {
  const project = await getProject(deps, input.project);
  if (input.label !== undefined) assertKnownLabel(project, input.label);
  const [row] = await deps.db
    .update(items)
    .set({
      ...(input.label !== undefined ? { label: input.label } : {}),
      ...(input.split !== undefined ? { split: input.split } : {}),
      updatedAt: deps.now(),
    })
    .where(and(eq(items.projectId, project.id), eq(items.sha256, input.sha256)))
    .returning();
  if (!row) throw notFound(`project "${project.slug}" has no item ${input.sha256}`);
  return { sha256: row.sha256, label: row.label, split: splitSchema.parse(row.split) };
}

/** Removes an item from the working set. Its bytes stay: committed versions may still name them. */
export async function removeItem(deps: HubDeps, input: { project: string; sha256: string }): Promise<{ sha256: string }> {
  const project = await getProject(deps, input.project);
  const [row] = await deps.db
    .delete(items)
    .where(and(eq(items.projectId, project.id), eq(items.sha256, input.sha256)))
    .returning({ sha256: items.sha256 });
  if (!row) throw notFound(`project "${project.slug}" has no item ${input.sha256}`);
  return row;
}
