import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { type DatasetManifest, type ManifestItem, datasetManifestSchema } from '@edgeloop/shared';

/** Canonical bytes of a manifest: fixed key order, items sorted by sha256. Their sha256 is the version id. */
export function canonicalManifest(project: string, labels: string[], items: ManifestItem[]): { id: string; json: string } {
  const sorted = [...items].sort((a, b) => (a.sha256 < b.sha256 ? -1 : a.sha256 > b.sha256 ? 1 : 0));
  const manifest: DatasetManifest = {
    format: 'edgeloop.dataset/v1',
    project,
    labels,
    // Keys in a fixed order; origin only where an item has one, so versions without device items keep their ids.
    items: sorted.map(({ sha256, label, split, origin }) => (origin ? { sha256, label, split, origin: { predictionId: origin.predictionId, acceptedBy: origin.acceptedBy } } : { sha256, label, split })),
  };
  const json = JSON.stringify(manifest);
  return { id: crypto.createHash('sha256').update(json).digest('hex'), json };
}

export function manifestKey(versionId: string): string {
  return `datasets/manifests/${versionId}.json.gz`;
}

export function packManifest(json: string): Buffer {
  return zlib.gzipSync(json);
}

/** Parses stored manifest bytes and proves they still hash to the version id. */
export function unpackManifest(versionId: string, gz: Uint8Array): DatasetManifest {
  const json = zlib.gunzipSync(gz).toString('utf8');
  const actual = crypto.createHash('sha256').update(json).digest('hex');
  if (actual !== versionId) throw new Error(`manifest of dataset version ${versionId} is corrupt (hash ${actual})`);
  return datasetManifestSchema.parse(JSON.parse(json));
}
