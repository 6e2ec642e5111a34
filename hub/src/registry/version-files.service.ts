/**
 * The files a published version is made of, with the URLs they are served at (the CDN's, or the hub's /cdn route):
 * what the admin offers as download links. Read from the version's signed manifest, which names every file with
 * its sha256 and size.
 */
import { type ModelFormat, cdnUrl } from '@edgeloop/shared';
import type { HubDeps } from '../deps';
import { conflict } from '../errors';
import { requireModelVersion } from './model-lookup';
import { readStoredManifest } from './stored-manifest';

export interface PublishedFileLink {
  /** The path in the version's folder, e.g. uint8/group1-shard1of1.<sha16>.bin. */
  path: string;
  url: string;
  bytes: number;
  sha256: string;
}

export interface VersionFiles {
  version: number;
  manifest: { url: string; sha256: string };
  /** Per published encoding: its model.json and its weight shards, in the order model.json names them. */
  formats: { format: ModelFormat; bytes: number; modelJson: PublishedFileLink; shards: PublishedFileLink[] }[];
}

export async function versionFiles(deps: HubDeps, input: { project: string; model: string; version: number }): Promise<VersionFiles> {
  const { version: row } = await requireModelVersion(deps, input);
  const manifest = await readStoredManifest(deps, row.manifestKey);
  if (!manifest) throw conflict(`the manifest of v${input.version} is missing from the object store; publish the run again as a new version`);
  const dir = row.manifestKey.slice(0, row.manifestKey.lastIndexOf('/') + 1);
  const link = (file: { path: string; sha256: string; bytes: number }): PublishedFileLink => ({ path: file.path, url: cdnUrl(deps.cdnBaseUrl, dir + file.path), bytes: file.bytes, sha256: file.sha256 });
  return {
    version: row.version,
    manifest: { url: cdnUrl(deps.cdnBaseUrl, row.manifestKey), sha256: row.manifestSha256 },
    formats: manifest.variants.map((v) => ({ format: v.format, bytes: v.bytes, modelJson: link(v.modelJson), shards: v.shards.map(link) })),
  };
}
