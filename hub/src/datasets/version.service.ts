import type { DatasetManifest, ManifestItem, Split, SplitLabelCounts } from '@edgeloop/shared';
import type { HubDeps } from '../deps';
import { badRequest, notFound } from '../errors';
import type { Project } from '../projects/project.repository';
import { getProject } from '../projects/project.service';
import type { DatasetVersion } from './dataset-version.repository';
import * as datasetVersions from './dataset-version.repository';
import * as reviewItems from '../feedback/review-item.repository';
import { type ActivityHandle, tracked } from './dataset-activity';
import * as items from './item.repository';
import { canonicalManifest, manifestKey, packManifest, unpackManifest } from './manifest';

/** A dataset version as the API shows it: its project by slug, its time as ISO text. */
export type VersionSummary = Omit<DatasetVersion, 'projectId' | 'createdAt'> & { project: string; createdAt: string };

/**
 * Commits the project's current items as an immutable version. Committing an unchanged working set
 * returns the existing version (same content, same id) with created: false.
 */
export async function commitVersion(
  deps: HubDeps,
  input: { project: string; message: string; createdBy: string },
): Promise<{ version: VersionSummary; created: boolean }> {
  const project = await getProject(deps, input.project);
  const message = input.message.trim();
  if (!message) throw badRequest('message must not be empty');
  // The admin shows that a commit is working (70,000 items take seconds), also after a reload.
  return tracked(deps, project, 'commit', 'reading the working set', (activity) => commitWorkingSet(deps, project, message, input.createdBy, activity), 'The commit stopped with an error (the hub\'s log has it); no version was made. Try again.');
}

async function commitWorkingSet(
  deps: HubDeps,
  project: Project,
  message: string,
  createdBy: string,
  activity: ActivityHandle,
): Promise<{ version: VersionSummary; created: boolean }> {
  const rows = await items.workingSet(deps.db, project.id);
  if (rows.length === 0) throw badRequest(`project "${project.slug}" has no items to commit`);
  activity.progress(0, null, `writing the manifest of ${rows.length.toLocaleString('en')} items`);
  // Items a rule or a person accepted from devices' reviews say so in the version (the manifest's origin).
  const origins = new Map((await reviewItems.acceptedOfProject(deps.db, project.id)).map((r) => [r.sha256, { predictionId: r.predictionId, acceptedBy: r.rule }]));
  const withOrigins = rows.map((item) => {
    const origin = origins.get(item.sha256);
    return origin ? { ...item, origin } : item;
  });
  return storeVersion(deps, project, withOrigins, { message, createdBy, parentId: await datasetVersions.latestId(deps.db, project.id) });
}

/**
 * Commits an explicit list of items (not the working set) as a version with the given parent: what the retraining
 * pipeline builds from a base version and reviewed items. The same content gives the same version (created: false).
 */
export async function commitItems(
  deps: HubDeps,
  input: { project: string; items: ManifestItem[]; parentId: string | null; message: string; createdBy: string },
): Promise<{ version: VersionSummary; created: boolean }> {
  const project = await getProject(deps, input.project);
  const message = input.message.trim();
  if (!message) throw badRequest('message must not be empty');
  if (input.items.length === 0) throw badRequest('a dataset version needs at least one item');
  return storeVersion(deps, project, input.items, { message, createdBy: input.createdBy, parentId: input.parentId });
}

/** Writes the manifest (content-addressed, safe to repeat) and the version row, unless a version of that content exists. */
async function storeVersion(
  deps: HubDeps,
  project: Project,
  rows: ManifestItem[],
  meta: { message: string; createdBy: string; parentId: string | null },
): Promise<{ version: VersionSummary; created: boolean }> {
  const { id, json } = canonicalManifest(project.slug, project.labels, rows);
  const existing = await datasetVersions.find(deps.db, project.id, id);
  if (existing) return { version: toSummary(project, existing), created: false };

  const gz = packManifest(json);
  // The manifest object is content-addressed: writing it before the row is safe to repeat.
  await deps.store.put(manifestKey(id), gz, { contentType: 'application/gzip' });
  const row = await datasetVersions.create(deps.db, {
    id,
    projectId: project.id,
    parentId: meta.parentId,
    message: meta.message,
    itemCount: rows.length,
    counts: countBySplitAndLabel(rows),
    manifestBytes: gz.length,
    createdBy: meta.createdBy,
    createdAt: deps.now(),
  });
  // A concurrent commit of the same content may have won the insert: same id, same content.
  const version = row ?? (await datasetVersions.find(deps.db, project.id, id))!;
  return { version: toSummary(project, version), created: Boolean(row) };
}

export async function listVersions(deps: HubDeps, slug: string): Promise<VersionSummary[]> {
  const project = await getProject(deps, slug);
  const rows = await datasetVersions.listOfProject(deps.db, project.id);
  return rows.map((row) => toSummary(project, row));
}

export async function getVersion(deps: HubDeps, slug: string, versionId: string): Promise<VersionSummary> {
  const project = await getProject(deps, slug);
  return toSummary(project, await requireVersion(deps, project, versionId));
}

/** Accepts a full id or a unique prefix of at least 8 characters, like git. */
async function requireVersion(deps: HubDeps, project: Project, idOrPrefix: string): Promise<DatasetVersion> {
  const exact = await datasetVersions.find(deps.db, project.id, idOrPrefix);
  if (exact) return exact;
  if (/^[0-9a-f]{8,63}$/.test(idOrPrefix)) {
    const matches = await datasetVersions.withIdPrefix(deps.db, project.id, idOrPrefix);
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) throw badRequest(`version prefix ${idOrPrefix} is ambiguous: ${matches.length} versions match`);
  }
  throw notFound(`project "${project.slug}" has no dataset version ${idOrPrefix}`);
}

// Versions never change, so a parsed manifest can be kept as long as memory allows; keep a few.
const manifestCache = new Map<string, DatasetManifest>();
const MANIFEST_CACHE_SIZE = 4;

export async function loadManifest(deps: HubDeps, slug: string, versionId: string): Promise<{ version: VersionSummary; manifest: DatasetManifest }> {
  const project = await getProject(deps, slug);
  const version = await requireVersion(deps, project, versionId);
  let manifest = manifestCache.get(version.id);
  if (!manifest) {
    const gz = await deps.store.get(manifestKey(version.id));
    if (!gz) throw new Error(`manifest object of dataset version ${version.id} is missing from the object store`);
    manifest = unpackManifest(version.id, gz);
    manifestCache.set(version.id, manifest);
    if (manifestCache.size > MANIFEST_CACHE_SIZE) manifestCache.delete(manifestCache.keys().next().value!);
  }
  return { version: toSummary(project, version), manifest };
}

export interface VersionDiff {
  from: string;
  to: string;
  added: ManifestItem[];
  removed: ManifestItem[];
  relabelled: { sha256: string; from: { label: string; split: Split }; to: { label: string; split: Split } }[];
  unchanged: number;
}

/** What changed from one version to another: items added, removed, and relabelled (label or split). */
export async function diffVersions(deps: HubDeps, input: { project: string; from: string; to: string }): Promise<VersionDiff> {
  const [a, b] = await Promise.all([loadManifest(deps, input.project, input.from), loadManifest(deps, input.project, input.to)]);
  const before = new Map(a.manifest.items.map((item) => [item.sha256, item]));
  const diff: VersionDiff = { from: a.version.id, to: b.version.id, added: [], removed: [], relabelled: [], unchanged: 0 };
  for (const item of b.manifest.items) {
    const old = before.get(item.sha256);
    before.delete(item.sha256);
    if (!old) diff.added.push(item);
    else if (old.label !== item.label || old.split !== item.split) {
      diff.relabelled.push({ sha256: item.sha256, from: { label: old.label, split: old.split }, to: { label: item.label, split: item.split } });
    } else diff.unchanged++;
  }
  diff.removed = [...before.values()];
  return diff;
}

/** A short-lived URL to download the version's manifest (gzipped JSON) straight from the object store. */
export async function exportVersionUrl(deps: HubDeps, slug: string, versionId: string): Promise<{ version: VersionSummary; manifestUrl: string; expiresInSeconds: number }> {
  const project = await getProject(deps, slug);
  const version = await requireVersion(deps, project, versionId);
  const expiresInSeconds = 3600;
  const manifestUrl = await deps.store.presignGet(manifestKey(version.id), {
    expiresInSeconds,
    downloadName: `${project.slug}-${version.id.slice(0, 12)}.json.gz`,
  });
  return { version: toSummary(project, version), manifestUrl, expiresInSeconds };
}

function countBySplitAndLabel(rows: ManifestItem[]): SplitLabelCounts {
  const counts: SplitLabelCounts = {};
  for (const { split, label } of rows) {
    const bySplit = (counts[split] ??= {});
    bySplit[label] = (bySplit[label] ?? 0) + 1;
  }
  return counts;
}

function toSummary(project: Project, row: DatasetVersion): VersionSummary {
  return {
    id: row.id,
    project: project.slug,
    parentId: row.parentId,
    message: row.message,
    itemCount: row.itemCount,
    counts: row.counts,
    manifestBytes: row.manifestBytes,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
  };
}
