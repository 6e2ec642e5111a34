/**
 * The owner of `items` (a project's working set: what its next dataset version will contain) and `blobs` (one row per
 * distinct image, by sha256, whose bytes are in the object store). Together because an item never exists without its blob.
 */
import { type ItemSource, type ManifestItem, type Split, splitSchema } from '@edgeloop/shared';
import { and, asc, count, eq, gt, inArray, sql } from 'drizzle-orm';
import type { Database } from '../db/database';
import { blobs, items } from '../db/schema';

export interface NewBlob {
  sha256: string;
  bytes: number;
  contentType: string;
  width: number;
  height: number;
  createdAt: Date;
}

export interface NewItem {
  projectId: string;
  sha256: string;
  label: string;
  split: Split;
  source: ItemSource;
  createdAt: Date;
  updatedAt: Date;
}

/** An item of a working set with what its blob says of the image. */
export interface WorkingSetItem {
  sha256: string;
  label: string;
  split: Split;
  source: string;
  contentType: string;
  width: number;
  height: number;
  updatedAt: Date;
}

/** Which items of a project's working set: all, or those with a label and/or a split. */
export interface ItemFilter {
  projectId: string;
  label?: string;
  split?: Split;
}

// Postgres takes at most 65535 parameters per statement; a 1000-row insert stays well below.
const ROWS_PER_STATEMENT = 1000;
/** Items added at once from which the table's statistics are refreshed. */
const ANALYZE_AFTER_ROWS = 5000;
/** Hashes per `in (...)` list when looking blobs up. */
const SHAS_PER_LOOKUP = 1000;

/**
 * Adds blobs and items in one transaction, so an import lands whole or not at all. Blobs already stored and items
 * already in their project are skipped (ON CONFLICT DO NOTHING). Returns how many items were new.
 */
export async function addImages(db: Database, newBlobs: readonly NewBlob[], newItems: readonly NewItem[]): Promise<number> {
  const added = await db.transaction(async (tx) => {
    for (let i = 0; i < newBlobs.length; i += ROWS_PER_STATEMENT) {
      await tx.insert(blobs).values(newBlobs.slice(i, i + ROWS_PER_STATEMENT)).onConflictDoNothing();
    }
    let inserted = 0;
    for (let i = 0; i < newItems.length; i += ROWS_PER_STATEMENT) {
      const rows = await tx
        .insert(items)
        .values(newItems.slice(i, i + ROWS_PER_STATEMENT))
        .onConflictDoNothing()
        .returning({ sha256: items.sha256 });
      inserted += rows.length;
    }
    return inserted;
  });
  // A large import changes the table's shape: fresh statistics let the planner walk the (project, sha256) key for the
  // admin's pages instead of sorting a project's items (autovacuum would get there, minutes later).
  if (added >= ANALYZE_AFTER_ROWS) await db.execute(sql`analyze items`);
  return added;
}

/** The hashes among `shas` whose blobs are stored (in any project). */
export async function storedBlobs(db: Database, shas: readonly string[]): Promise<Set<string>> {
  if (shas.length === 0) return new Set();
  const rows = await db.select({ sha256: blobs.sha256 }).from(blobs).where(inArray(blobs.sha256, [...shas]));
  return new Set(rows.map((r) => r.sha256));
}

/** The content type of each stored blob among `shas`, by sha256 (unknown hashes are absent). */
export async function contentTypesOf(db: Database, shas: readonly string[]): Promise<Map<string, string>> {
  const types = new Map<string, string>();
  for (let i = 0; i < shas.length; i += SHAS_PER_LOOKUP) {
    const rows = await db
      .select({ sha256: blobs.sha256, contentType: blobs.contentType })
      .from(blobs)
      .where(inArray(blobs.sha256, shas.slice(i, i + SHAS_PER_LOOKUP)));
    for (const row of rows) types.set(row.sha256, row.contentType);
  }
  return types;
}

/** The label of the project's item with this sha256, or null when the working set has none. */
export async function findInProject(db: Database, projectId: string, sha256: string): Promise<{ label: string } | null> {
  const [row] = await db
    .select({ label: items.label })
    .from(items)
    .where(and(eq(items.projectId, projectId), eq(items.sha256, sha256)));
  return row ?? null;
}

/** A working-set row with its blob, as pages list it. */
const toWorkingSetItem = ({ item, blob }: { item: typeof items.$inferSelect; blob: typeof blobs.$inferSelect }): WorkingSetItem => ({
  sha256: item.sha256,
  label: item.label,
  split: splitSchema.parse(item.split),
  source: item.source,
  contentType: blob.contentType,
  width: blob.width,
  height: blob.height,
  updatedAt: item.updatedAt,
});

const filterOf = (filter: ItemFilter) =>
  and(
    eq(items.projectId, filter.projectId),
    filter.label !== undefined ? eq(items.label, filter.label) : undefined,
    filter.split !== undefined ? eq(items.split, filter.split) : undefined,
  );

/** A page of the filtered working set by sha256, after `after` (exclusive), and how many items the filter matches in all. */
export async function page(db: Database, filter: ItemFilter, after: string | undefined, limit: number): Promise<{ items: WorkingSetItem[]; total: number }> {
  const where = filterOf(filter);
  const [rows, [totals]] = await Promise.all([
    db
      .select({ item: items, blob: blobs })
      .from(items)
      .innerJoin(blobs, eq(blobs.sha256, items.sha256))
      .where(and(where, after ? gt(items.sha256, after) : undefined))
      .orderBy(asc(items.sha256))
      .limit(limit),
    db.select({ total: count() }).from(items).where(where),
  ]);
  return { items: rows.map(toWorkingSetItem), total: totals?.total ?? 0 };
}

/** Every item of the project's working set: what a commit puts in the manifest. */
export async function workingSet(db: Database, projectId: string): Promise<ManifestItem[]> {
  const rows = await db.select({ sha256: items.sha256, label: items.label, split: items.split }).from(items).where(eq(items.projectId, projectId));
  // split has a CHECK constraint (train, val, test).
  return rows as ManifestItem[];
}

/** Changes an item's label and/or split; null when the project has no item with this sha256. */
export async function relabel(
  db: Database,
  item: { projectId: string; sha256: string },
  changes: { label?: string; split?: Split },
  at: Date,
): Promise<{ sha256: string; label: string; split: Split } | null> {
  const [row] = await db
    .update(items)
    .set({
      ...(changes.label !== undefined ? { label: changes.label } : {}),
      ...(changes.split !== undefined ? { split: changes.split } : {}),
      updatedAt: at,
    })
    .where(and(eq(items.projectId, item.projectId), eq(items.sha256, item.sha256)))
    .returning({ sha256: items.sha256, label: items.label, split: items.split });
  return row ? { ...row, split: splitSchema.parse(row.split) } : null;
}

/** Removes an item from the working set (its blob stays) and says what it was, so `restore` can put it back; null when there was none. */
export async function remove(db: Database, projectId: string, sha256: string): Promise<{ sha256: string; label: string; split: Split; source: string } | null> {
  const [row] = await db
    .delete(items)
    .where(and(eq(items.projectId, projectId), eq(items.sha256, sha256)))
    .returning({ sha256: items.sha256, label: items.label, split: items.split, source: items.source });
  return row ? { ...row, split: splitSchema.parse(row.split) } : null;
}

/** How many items each project's working set holds, by project id (projects with none are absent). */
export async function countByProject(db: Database): Promise<Map<string, number>> {
  const rows = await db.select({ projectId: items.projectId, n: count() }).from(items).groupBy(items.projectId);
  return new Map(rows.map((r) => [r.projectId, r.n]));
}

/** Which items of a working set the admin's grid shows: a label, a split, a source, any of them. */
export interface BrowseFilter extends ItemFilter {
  source?: ItemSource;
}

const browseWhere = (filter: BrowseFilter) => and(filterOf(filter), filter.source !== undefined ? eq(items.source, filter.source) : undefined);

/**
 * One page of the filtered working set by sha256 (offset paging: the admin jumps to page n), how many items match,
 * and how many of those each split holds per label (counted by the database, not here).
 */
export async function browsePage(
  db: Database,
  filter: BrowseFilter,
  offset: number,
  limit: number,
): Promise<{ items: WorkingSetItem[]; total: number; balance: { split: string; label: string; n: number }[] }> {
  const where = browseWhere(filter);
  // The page's hashes first (walking the (project, sha256) key, no join), then only those rows with their blobs:
  // joining before the offset would join every skipped row too.
  const [pageShas, balance] = await Promise.all([
    db.select({ sha256: items.sha256 }).from(items).where(where).orderBy(asc(items.sha256)).offset(offset).limit(limit),
    db.select({ split: items.split, label: items.label, n: count() }).from(items).where(where).groupBy(items.split, items.label),
  ]);
  const rows = pageShas.length
    ? await db
        .select({ item: items, blob: blobs })
        .from(items)
        .innerJoin(blobs, eq(blobs.sha256, items.sha256))
        .where(and(eq(items.projectId, filter.projectId), inArray(items.sha256, pageShas.map((r) => r.sha256))))
        .orderBy(asc(items.sha256))
    : [];
  return {
    items: rows.map(toWorkingSetItem),
    total: balance.reduce((sum, row) => sum + row.n, 0),
    balance,
  };
}

/** The working-set source of each of `shas` that the project still holds, by sha256. */
export async function sourcesOf(db: Database, projectId: string, shas: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < shas.length; i += SHAS_PER_LOOKUP) {
    const rows = await db
      .select({ sha256: items.sha256, source: items.source })
      .from(items)
      .where(and(eq(items.projectId, projectId), inArray(items.sha256, shas.slice(i, i + SHAS_PER_LOOKUP))));
    for (const row of rows) out.set(row.sha256, row.source);
  }
  return out;
}

/** The hashes of the project's working-set items that came from `source`. */
export async function shasFromSource(db: Database, projectId: string, source: ItemSource): Promise<Set<string>> {
  const rows = await db.select({ sha256: items.sha256 }).from(items).where(and(eq(items.projectId, projectId), eq(items.source, source)));
  return new Set(rows.map((r) => r.sha256));
}

/** What the blobs of `shas` say of their images, by sha256 (unknown hashes are absent). */
export async function blobsOf(db: Database, shas: readonly string[]): Promise<Map<string, { contentType: string; width: number; height: number; bytes: number }>> {
  const out = new Map<string, { contentType: string; width: number; height: number; bytes: number }>();
  for (let i = 0; i < shas.length; i += SHAS_PER_LOOKUP) {
    const rows = await db
      .select({ sha256: blobs.sha256, contentType: blobs.contentType, width: blobs.width, height: blobs.height, bytes: blobs.bytes })
      .from(blobs)
      .where(inArray(blobs.sha256, shas.slice(i, i + SHAS_PER_LOOKUP)));
    for (const { sha256, ...blob } of rows) out.set(sha256, blob);
  }
  return out;
}

/** The project's working-set item with this sha256 (label, split, source, times), or null. */
export async function findItem(
  db: Database,
  projectId: string,
  sha256: string,
): Promise<{ label: string; split: Split; source: string; createdAt: Date; updatedAt: Date } | null> {
  const [row] = await db
    .select({ label: items.label, split: items.split, source: items.source, createdAt: items.createdAt, updatedAt: items.updatedAt })
    .from(items)
    .where(and(eq(items.projectId, projectId), eq(items.sha256, sha256)));
  return row ? { ...row, split: splitSchema.parse(row.split) } : null;
}

/**
 * Puts a removed item back into the working set (its blob is still stored): the change that undoes `remove`.
 * Null when the project holds that item already.
 */
export async function restore(db: Database, item: NewItem): Promise<{ sha256: string } | null> {
  const [row] = await db.insert(items).values(item).onConflictDoNothing().returning({ sha256: items.sha256 });
  return row ?? null;
}
