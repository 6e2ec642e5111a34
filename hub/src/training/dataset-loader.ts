/**
 * Turns a dataset version into TrainingData: every item fetched from the object store, decoded and resized to the
 * model's input, in shared memory for the training replicas. Versions never change, so the decoded pixels are
 * cached on local disk and later runs on the same version start at once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type ManifestItem, type Preprocessing, channelsOf, objectKeyForSha256 } from '@edgeloop/shared';
import { type ImageSet, type TrainingData, sharedImageSet } from '@edgeloop/training';
import { mapConcurrent } from '../concurrency';
import type { HubDeps } from '../deps';
import { loadManifest } from '../datasets/version.service';
import { decodeToPixels } from '../images/to-pixels';

/** When a version has no val split, every VAL_EVERY-th train item (in manifest order, i.e. by sha256) is held out. */
const VAL_EVERY = 12;
/** Part of the cache file's name: bump it when decoded pixels change (2: grey from colour by the shared greyOf). */
const CACHE_FORMAT = 2;

export async function loadTrainingData(
  deps: HubDeps,
  input: { project: string; versionId: string; preprocessing: Preprocessing },
  log: (line: string) => void,
): Promise<TrainingData> {
  const { manifest } = await loadManifest(deps, input.project, input.versionId);
  const p = input.preprocessing;
  const channels = channelsOf(p.color);
  const splits = splitItems(manifest.items);
  if (!splits.train.length) throw new Error(`dataset version ${input.versionId} has no train items`);
  if (splits.heldOut) log(`dataset version has no val split: holding out every ${VAL_EVERY}th train item (${splits.val.length}) for validation`);
  const labelIndex = new Map(manifest.labels.map((l, i) => [l, i]));

  const cacheFile = path.join(deps.cacheDir, 'datasets', `${input.versionId}-${p.height}x${p.width}x${channels}.v${CACHE_FORMAT}.bin`);
  const sets = { train: splits.train, val: splits.val, test: splits.test };
  const data: TrainingData = {
    labels: manifest.labels,
    preprocessing: p,
    train: sharedImageSet(sets.train.length, p.height, p.width, channels),
    val: sharedImageSet(sets.val.length, p.height, p.width, channels),
    test: sharedImageSet(sets.test.length, p.height, p.width, channels),
  };
  if (readCache(cacheFile, data)) {
    log(`dataset ${input.versionId.slice(0, 12)}: ${manifest.items.length} images from the local cache`);
    return data;
  }

  const started = performance.now();
  const total = manifest.items.length;
  let done = 0;
  let lastLog = started;
  for (const split of ['train', 'val', 'test'] as const) {
    const set = data[split];
    const imageBytes = p.height * p.width * channels;
    await mapConcurrent(sets[split], 16, async (item, i) => {
      const bytes = await deps.store.get(objectKeyForSha256(item.sha256));
      if (!bytes) throw new Error(`image ${item.sha256} of the dataset version is missing from the object store`);
      set.pixels.set(await decodeToPixels(bytes, { height: p.height, width: p.width, channels }), i * imageBytes);
      set.labels[i] = labelIndex.get(item.label)!;
      if (++done % 1000 === 0 && performance.now() - lastLog > 2000) {
        lastLog = performance.now();
        log(`loading dataset: ${done}/${total} images`);
      }
    });
  }
  log(`dataset ${input.versionId.slice(0, 12)}: decoded ${total} images in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  writeCache(cacheFile, data);
  return data;
}

function splitItems(items: ManifestItem[]) {
  const train = items.filter((i) => i.split === 'train');
  const val = items.filter((i) => i.split === 'val');
  const test = items.filter((i) => i.split === 'test');
  if (val.length) return { train, val, test, heldOut: false };
  return { train: train.filter((_, i) => i % VAL_EVERY !== 0), val: train.filter((_, i) => i % VAL_EVERY === 0), test, heldOut: true };
}

/** Cache file: the pixels then the labels of train, val and test, back to back; sizes follow from the manifest. */
function readCache(file: string, data: TrainingData): boolean {
  const sets: ImageSet[] = [data.train, data.val, data.test];
  const expected = sets.reduce((n, s) => n + s.pixels.length + s.count * 2, 0);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return false;
  }
  try {
    if (fs.fstatSync(fd).size !== expected) return false;
    let position = 0;
    for (const s of sets) {
      position += fs.readSync(fd, s.pixels, 0, s.pixels.length, position);
      position += fs.readSync(fd, new Uint8Array(s.labels.buffer, 0, s.count * 2), 0, s.count * 2, position);
    }
    return true;
  } finally {
    fs.closeSync(fd);
  }
}

function writeCache(file: string, data: TrainingData): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  for (const s of [data.train, data.val, data.test]) {
    fs.writeSync(fd, s.pixels);
    fs.writeSync(fd, new Uint8Array(s.labels.buffer, 0, s.count * 2));
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
}
