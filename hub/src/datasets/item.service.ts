import type { Split } from '@edgeloop/shared';
import type { HubDeps } from '../deps';
import { notFound } from '../errors';
import { assertKnownLabel, getProject } from '../projects/project.service';
import type { WorkingSetItem } from './item.repository';
import * as items from './item.repository';

/** An item as the API lists it: the working set's item with its time as ISO text. */
export type ItemSummary = Omit<WorkingSetItem, 'updatedAt'> & { updatedAt: string };

/** A page of a project's working set, ordered by sha256; pass the last sha256 as `after` for the next page. */
export async function listItems(
  deps: HubDeps,
  input: { project: string; label?: string; split?: Split; after?: string; limit: number },
): Promise<{ items: ItemSummary[]; total: number; nextAfter: string | null }> {
  const project = await getProject(deps, input.project);
  if (input.label !== undefined) assertKnownLabel(project, input.label);
  const { items: rows, total } = await items.page(deps.db, { projectId: project.id, label: input.label, split: input.split }, input.after, input.limit);
  const page = rows.map(
    (item): ItemSummary => ({
      sha256: item.sha256,
      label: item.label,
      split: item.split,
      source: item.source,
      contentType: item.contentType,
      width: item.width,
      height: item.height,
      updatedAt: item.updatedAt.toISOString(),
    }),
  );
  return { items: page, total, nextAfter: page.length === input.limit ? page.at(-1)!.sha256 : null };
}

/** Changes an item's label and/or split in the working set; committed versions keep what they had. */
export async function updateItem(
  deps: HubDeps,
  input: { project: string; sha256: string; label?: string; split?: Split },
): Promise<{ sha256: string; label: string; split: Split }> {
  const project = await getProject(deps, input.project);
  if (input.label !== undefined) assertKnownLabel(project, input.label);
  const row = await items.relabel(deps.db, { projectId: project.id, sha256: input.sha256 }, { label: input.label, split: input.split }, deps.now());
  if (!row) throw notFound(`project "${project.slug}" has no item ${input.sha256}`);
  return row;
}

/** Removes an item from the working set and says what it was (items.restore puts it back). Its bytes stay: committed versions may still name them. */
export async function removeItem(deps: HubDeps, input: { project: string; sha256: string }): Promise<{ sha256: string; label: string; split: Split; source: string }> {
  const project = await getProject(deps, input.project);
  const row = await items.remove(deps.db, project.id, input.sha256);
  if (!row) throw notFound(`project "${project.slug}" has no item ${input.sha256}`);
  return row;
}
