import fs from 'node:fs/promises';
import path from 'node:path';
import { objectKeyForSha256 } from '@edgeloop/shared';
import { mapConcurrent } from '../concurrency';
import type { HubDeps } from '../deps';
import type { ProgressFn } from '../datasets/ingest.service';
import * as items from '../datasets/item.repository';
import { loadManifest } from '../datasets/version.service';

const EXTENSIONS: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp' };

/** Writes a dataset version as a folder tree any training tool reads: <split>/<label>/<sha256>.<ext>. */
export async function exportVersion(
  deps: HubDeps,
  input: { project: string; version: string; dir: string; onProgress?: ProgressFn },
): Promise<number> {
  const { manifest, version } = await loadManifest(deps, input.project, input.version);
  const types = await items.contentTypesOf(deps.db, manifest.items.map((item) => item.sha256));
  const folders = new Set(manifest.items.map((item) => path.join(input.dir, item.split, item.label)));
  await Promise.all([...folders].map((folder) => fs.mkdir(folder, { recursive: true })));
  let done = 0;
  await mapConcurrent(manifest.items, 32, async (item) => {
    const bytes = await deps.store.get(objectKeyForSha256(item.sha256));
    if (!bytes) throw new Error(`object ${item.sha256} of version ${version.id} is missing from the object store`);
    const ext = EXTENSIONS[types.get(item.sha256) ?? ''] ?? 'bin';
    await fs.writeFile(path.join(input.dir, item.split, item.label, `${item.sha256}.${ext}`), bytes);
    input.onProgress?.(++done, manifest.items.length);
  });
  await fs.writeFile(path.join(input.dir, 'manifest.json'), JSON.stringify({ version: version.id, ...manifest }, null, 1));
  return manifest.items.length;
}
