/**
 * What the admin's data grid and item view read: a page of the items of a dataset version or of the working set
 * (filtered by label, split and source, with each split's class balance), and one item's history. Thumbnails are
 * presigned GETs from the one image signer (the review inbox's).
 */
import { type ItemSource, type ManifestItem, type Split, type SplitLabelCounts } from '@edgeloop/shared';
import type { HubDeps } from '../deps';
import { conflict, notFound } from '../errors';
import * as reviewItems from '../feedback/review-item.repository';
import { imageUrlOf } from '../feedback/review-item.service';
import type { Project } from '../projects/project.repository';
import { assertKnownLabel, getProject } from '../projects/project.service';
import * as datasetVersions from './dataset-version.repository';
import * as items from './item.repository';
import { diffVersions, loadManifest } from './version.service';

/** Most items one page holds; the grid asks for fewer. */
export const MAX_BROWSE_PAGE_SIZE = 100;
/** Highest page number accepted: 70,000 items at the smallest page size that still fills a screen (10) is 7,000 pages. */
export const MAX_BROWSE_PAGE = 10_000;
/** How many of a project's newest versions an item's history looks into (each is a manifest to read). */
export const HISTORY_VERSIONS = 20;

export interface BrowseInput {
  project: string;
  /** A dataset version id (or unique prefix); absent: the working set. */
  version?: string;
  label?: string;
  split?: Split;
  source?: ItemSource;
  /** 1-based. */
  page: number;
  pageSize: number;
}

export interface BrowseItem {
  sha256: string;
  label: string;
  split: Split;
  /** How it came into the project: 'folder'/'idx' (an import, the demo's too), 'upload', 'correction', 'review' (a device's image accepted in review); null when a version's item is no longer in the working set and was not reviewed. */
  source: string | null;
  contentType: string;
  width: number;
  height: number;
  thumbnailUrl: string;
}

export interface BrowsePage {
  /** What was browsed: the working set, or one version by its full id. */
  scope: { kind: 'working-set' } | { kind: 'version'; id: string; message: string };
  page: number;
  pageSize: number;
  /** Items matching the filters, and the pages they fill (at least 1). */
  total: number;
  pages: number;
  /** balance[split][label] = matching items: the class mix per split of what the filters select. */
  balance: SplitLabelCounts;
  items: BrowseItem[];
}

/** A page of the items of a version or of the working set, ordered by sha256 (the grid's stable order). */
export async function browseItems(deps: HubDeps, input: BrowseInput): Promise<BrowsePage> {
  const project = await getProject(deps, input.project);
  if (input.label !== undefined) assertKnownLabel(project, input.label);
  const offset = (input.page - 1) * input.pageSize;
  if (input.version === undefined) {
    const { items: rows, total, balance } = await items.browsePage(deps.db, { projectId: project.id, label: input.label, split: input.split, source: input.source }, offset, input.pageSize);
    return {
      scope: { kind: 'working-set' },
      ...pagesOf(input, total),
      balance: balanceOf(balance),
      items: await Promise.all(
        rows.map(async (r) => ({ sha256: r.sha256, label: r.label, split: r.split, source: r.source, contentType: r.contentType, width: r.width, height: r.height, thumbnailUrl: await imageUrlOf(deps, r.sha256) })),
      ),
    };
  }
  const { version, manifest } = await loadManifest(deps, project.slug, input.version);
  // A version's items are its manifest (immutable, cached parsed); only sources live in the database.
  const fromSource = input.source === undefined ? null : await items.shasFromSource(deps.db, project.id, input.source);
  const matching = manifest.items.filter(
    (item) =>
      (input.label === undefined || item.label === input.label) &&
      (input.split === undefined || item.split === input.split) &&
      (fromSource === null || fromSource.has(item.sha256) || (input.source === 'review' && item.origin !== undefined)),
  );
  const filtered = input.label !== undefined || input.split !== undefined || input.source !== undefined;
  const slice = matching.slice(offset, offset + input.pageSize);
  return {
    scope: { kind: 'version', id: version.id, message: version.message },
    ...pagesOf(input, matching.length),
    balance: filtered ? countBySplit(matching) : version.counts,
    items: await versionItems(deps, project, slice),
  };
}

/** A version's items with what their blobs say and where they came from. */
async function versionItems(deps: HubDeps, project: Project, slice: ManifestItem[]): Promise<BrowseItem[]> {
  const shas = slice.map((i) => i.sha256);
  const [blobs, sources] = await Promise.all([items.blobsOf(deps.db, shas), items.sourcesOf(deps.db, project.id, shas)]);
  return Promise.all(
    slice.map(async (item) => {
      const blob = blobs.get(item.sha256);
      return {
        sha256: item.sha256,
        label: item.label,
        split: item.split,
        source: sources.get(item.sha256) ?? (item.origin ? 'review' : null),
        contentType: blob?.contentType ?? 'image/png',
        width: blob?.width ?? 0,
        height: blob?.height ?? 0,
        thumbnailUrl: await imageUrlOf(deps, item.sha256),
      };
    }),
  );
}

function pagesOf(input: { page: number; pageSize: number }, total: number): { page: number; pageSize: number; total: number; pages: number } {
  return { page: input.page, pageSize: input.pageSize, total, pages: Math.max(1, Math.ceil(total / input.pageSize)) };
}

/** [{split, label, n}] (the database's GROUP BY) as counts[split][label]. */
function balanceOf(rows: { split: string; label: string; n: number }[]): SplitLabelCounts {
  const out: SplitLabelCounts = {};
  for (const { split, label, n } of rows) (out[split as Split] ??= {})[label] = n;
  return out;
}

function countBySplit(rows: readonly ManifestItem[]): SplitLabelCounts {
  const out: SplitLabelCounts = {};
  for (const { split, label } of rows) {
    const bySplit = (out[split] ??= {});
    bySplit[label] = (bySplit[label] ?? 0) + 1;
  }
  return out;
}

export interface ItemHistory {
  sha256: string;
  image: { url: string; contentType: string; width: number; height: number; bytes: number };
  /** Where it is in the working set now; null when it is not there (removed, or only in versions). */
  workingSet: { label: string; split: Split; source: string; addedAt: string; updatedAt: string } | null;
  /** The project's newest versions (at most HISTORY_VERSIONS), newest first, each with the item's label and split there or null when the version lacks it. */
  versions: { id: string; message: string; createdAt: string; item: { label: string; split: Split } | null }[];
  /** How many versions the project has in all (more than `versions` when it has over HISTORY_VERSIONS). */
  versionCount: number;
  /** The device review it came through, if any: who voted what, and the decision. */
  review: {
    id: string;
    source: string;
    status: string;
    label: string | null;
    predictionId: string | null;
    decidedBy: string | null;
    rule: string | null;
    decidedAt: string | null;
    createdAt: string;
    votes: { labeledBy: string; label: string | null; at: string }[];
  } | null;
}

/** One item of a project: its image, where it is now, which versions hold it with which label and split, and its review. */
export async function itemHistory(deps: HubDeps, input: { project: string; sha256: string }): Promise<ItemHistory> {
  const project = await getProject(deps, input.project);
  const [blob] = (await items.blobsOf(deps.db, [input.sha256])).values();
  const [current, review, allVersions] = await Promise.all([
    items.findItem(deps.db, project.id, input.sha256),
    reviewItems.findBySha256(deps.db, project.id, input.sha256),
    datasetVersions.listOfProject(deps.db, project.id),
  ]);
  const recent = allVersions.slice(0, HISTORY_VERSIONS);
  const held = await Promise.all(recent.map(async (v) => (await manifestIndex(deps, project.slug, v.id)).get(input.sha256) ?? null));
  if (!blob || (!current && !review && held.every((h) => h === null))) throw notFound(`sha256: project "${project.slug}" has no item ${input.sha256}`);
  const votes = review ? ((await reviewItems.votesOf(deps.db, [review.id])).get(review.id) ?? []) : [];
  return {
    sha256: input.sha256,
    image: { url: await imageUrlOf(deps, input.sha256), ...blob },
    workingSet: current
      ? { label: current.label, split: current.split, source: current.source, addedAt: current.createdAt.toISOString(), updatedAt: current.updatedAt.toISOString() }
      : null,
    versions: recent.map((v, i) => ({ id: v.id, message: v.message, createdAt: v.createdAt.toISOString(), item: held[i] ?? null })),
    versionCount: allVersions.length,
    review: review
      ? {
          id: review.id,
          source: review.source,
          status: review.status,
          label: review.label,
          predictionId: review.predictionId,
          decidedBy: review.decidedBy,
          rule: review.decisionRule,
          decidedAt: review.decidedAt?.toISOString() ?? null,
          createdAt: review.createdAt.toISOString(),
          votes: votes.map((v) => ({ labeledBy: v.labeledBy, label: v.label, at: v.at.toISOString() })),
        }
      : null,
  };
}

// A version's items by sha256, built once per version (versions never change); a few kept, like the parsed manifests.
const indexCache = new Map<string, Map<string, { label: string; split: Split }>>();
const INDEX_CACHE_SIZE = HISTORY_VERSIONS;

async function manifestIndex(deps: HubDeps, slug: string, versionId: string): Promise<Map<string, { label: string; split: Split }>> {
  let index = indexCache.get(versionId);
  if (!index) {
    const { manifest } = await loadManifest(deps, slug, versionId);
    index = new Map(manifest.items.map((i) => [i.sha256, { label: i.label, split: i.split }]));
    indexCache.set(versionId, index);
    if (indexCache.size > INDEX_CACHE_SIZE) indexCache.delete(indexCache.keys().next().value!);
  }
  return index;
}

/**
 * Puts a removed item back into the working set with a label and split (what `items.remove` answered, or another):
 * the change that undoes a removal. Its image must still be stored, and the working set must not hold it.
 */
export async function restoreItem(
  deps: HubDeps,
  input: { project: string; sha256: string; label: string; split: Split; source: ItemSource },
): Promise<{ sha256: string; label: string; split: Split }> {
  const project = await getProject(deps, input.project);
  assertKnownLabel(project, input.label);
  if (!(await items.storedBlobs(deps.db, [input.sha256])).has(input.sha256)) throw notFound(`sha256: the hub stores no image ${input.sha256}`);
  const at = deps.now();
  const row = await items.restore(deps.db, { projectId: project.id, sha256: input.sha256, label: input.label, split: input.split, source: input.source, createdAt: at, updatedAt: at });
  if (!row) throw conflict(`sha256: the working set of "${project.slug}" holds ${input.sha256} already; change its label or split instead`);
  return { sha256: row.sha256, label: input.label, split: input.split };
}


/** Most diff entries of each kind one answer lists (and, with images, presigns). */
export const MAX_DIFF_IMAGES = 100;

export interface DiffPage {
  from: string;
  to: string;
  counts: { added: number; removed: number; relabelled: number; unchanged: number };
  added: ManifestItem[];
  removed: ManifestItem[];
  relabelled: { sha256: string; from: { label: string; split: Split }; to: { label: string; split: Split } }[];
  /** Thumbnail URL of each listed item, by sha256, when asked for `images` (else empty). */
  thumbnails: Record<string, string>;
}

/**
 * What changed between two versions: exact counts, and of each kind (added, removed, relabelled) the entries from
 * `offset`, at most `limit`, in sha256 order; with `images`, a thumbnail URL for each listed item.
 */
export async function diffPage(deps: HubDeps, input: { project: string; from: string; to: string; offset: number; limit: number; images: boolean }): Promise<DiffPage> {
  const diff = await diffVersions(deps, input);
  const cut = <T>(list: T[]) => list.slice(input.offset, input.offset + input.limit);
  const page = { added: cut(diff.added), removed: cut(diff.removed), relabelled: cut(diff.relabelled) };
  const thumbnails: Record<string, string> = {};
  if (input.images) {
    const shas = [...page.added, ...page.removed, ...page.relabelled].map((i) => i.sha256);
    await Promise.all(shas.map(async (sha) => (thumbnails[sha] = await imageUrlOf(deps, sha))));
  }
  return {
    from: diff.from,
    to: diff.to,
    counts: { added: diff.added.length, removed: diff.removed.length, relabelled: diff.relabelled.length, unchanged: diff.unchanged },
    ...page,
    thumbnails,
  };
}
