/**
 * Turns a dataset version into TrainingData: every item fetched from the object store, decoded and resized to the
 * model's input, in shared memory for the training replicas. Versions never change, so the decoded pixels are
 * cached on local disk and later runs on the same version start at once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type DatasetManifest, type ManifestItem, type Preprocessing, channelsOf, objectKeyForSha256, seededPermutation } from '@edgeloop/shared';
import { type ImageSet, type TrainingData, sharedImageSet } from '@edgeloop/training';
import { mapConcurrent } from '../concurrency';
import type { HubDeps } from '../deps';
import { loadManifest } from '../datasets/version.service';
import { decodeToPixels } from '../images/to-pixels';
import { type Emphasis, emphasizeReviewed } from './reviewed-emphasis';

/** What decoding needs of an item: its image and its label. */
export type LabelledImage = Pick<ManifestItem, 'sha256' | 'label'>;

/** When a version has no val split, every VAL_EVERY-th train item (in manifest order, i.e. by sha256) is held out. */
const VAL_EVERY = 12;
/** Part of the cache file's name: bump it when decoded pixels change (2: grey from colour by the shared greyOf). */
const CACHE_FORMAT = 2;

/** Images of the version loaded so far, of all; fromCache when they were read at once from the local cache. */
export type LoadingListener = (loaded: { done: number; total: number; fromCache: boolean }) => void;

/** `onLoading` hears 0 of total before the first image, then each image, and total of total at the end. */
export async function loadTrainingData(
  deps: HubDeps,
  input: { project: string; versionId: string; preprocessing: Preprocessing; emphasis?: Emphasis },
  log: (line: string) => void,
  onLoading: LoadingListener = () => {},
): Promise<TrainingData> {
  const { manifest } = await loadManifest(deps, input.project, input.versionId);
  const data = await loadVersionData(deps, manifest, input, log, onLoading);
  if (!input.emphasis) return data;
  // The decoded version (and its cache) stays whole; the train set a fine-tune sees is rebuilt from it.
  const reviewed = splitItems(manifest.items).train.map((item) => item.origin !== undefined);
  const emphasized = emphasizeReviewed(data.train, reviewed, input.emphasis, input.preprocessing);
  if (!emphasized) return data;
  log(emphasized.summary);
  return { ...data, train: emphasized.set };
}

async function loadVersionData(
  deps: HubDeps,
  manifest: DatasetManifest,
  input: { versionId: string; preprocessing: Preprocessing },
  log: (line: string) => void,
  onLoading: LoadingListener,
): Promise<TrainingData> {
  const p = input.preprocessing;
  const channels = channelsOf(p.color);
  const splits = splitItems(manifest.items);
  if (!splits.train.length) throw new Error(`dataset version ${input.versionId} has no train items`);
  if (splits.heldOut) log(`dataset version has no val split: holding out every ${VAL_EVERY}th train item (${splits.val.length}) for validation`);
  const labelIndex = new Map(manifest.labels.map((l, i) => [l, i]));

  const cacheFile = cacheFileOf(deps, input.versionId, p);
  const sets = { train: splits.train, val: splits.val, test: splits.test };
  const data: TrainingData = {
    labels: manifest.labels,
    preprocessing: p,
    train: sharedImageSet(sets.train.length, p.height, p.width, channels),
    val: sharedImageSet(sets.val.length, p.height, p.width, channels),
    test: sharedImageSet(sets.test.length, p.height, p.width, channels),
  };
  const total = manifest.items.length;
  if (readCache(cacheFile, data)) {
    log(`dataset ${input.versionId.slice(0, 12)}: ${total} images from the local cache`);
    onLoading({ done: total, total, fromCache: true });
    return data;
  }

  const started = performance.now();
  onLoading({ done: 0, total, fromCache: false });
  const progress = decodeProgress(total, log, (done) => onLoading({ done, total, fromCache: false }));
  for (const split of ['train', 'val', 'test'] as const) await decodeInto(deps, sets[split], data[split], { preprocessing: p, labelIndex, progress });
  log(`dataset ${input.versionId.slice(0, 12)}: decoded ${total} images in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  writeCache(cacheFile, data);
  return data;
}

/** The held-out splits of a dataset version (never train), as a reference profile is computed on. */
export interface HeldOutData {
  labels: string[];
  val: ImageSet;
  test: ImageSet;
  /** How many items each split has in the version (before any sampling down to `maxItems`). */
  available: { val: number; test: number };
  /** True when the version has no val split and val is the items training held out of train (every VAL_EVERY-th). */
  valHeldOutOfTrain: boolean;
}

/**
 * The val and test items of a dataset version, split exactly as training split them, decoded with the same
 * preprocessing. At most `maxItems` in all: beyond that, a seeded sample of each split in proportion to its size
 * (kept in manifest order). Train pixels are never decoded; a version training already cached is read from the cache.
 */
export async function loadHeldOutData(
  deps: HubDeps,
  input: { project: string; versionId: string; preprocessing: Preprocessing; maxItems: number; seed: number },
  log: (line: string) => void,
): Promise<HeldOutData> {
  const { manifest } = await loadManifest(deps, input.project, input.versionId);
  const p = input.preprocessing;
  const channels = channelsOf(p.color);
  const splits = splitItems(manifest.items);
  const available = { val: splits.val.length, test: splits.test.length };
  const totalHeldOut = available.val + available.test;
  const keep = totalHeldOut <= input.maxItems ? available : proportionalShares(available, input.maxItems);
  const chosen = {
    val: sampleIndices(available.val, keep.val, input.seed),
    test: sampleIndices(available.test, keep.test, input.seed + 1),
  };
  const data = { val: sharedImageSet(keep.val, p.height, p.width, channels), test: sharedImageSet(keep.test, p.height, p.width, channels) };
  const imageBytes = p.height * p.width * channels;
  const cacheFile = cacheFileOf(deps, input.versionId, p);
  const cached = readHeldOutFromCache(cacheFile, { train: splits.train.length, val: available.val, test: available.test }, channels, imageBytes);
  if (cached) {
    for (const split of ['val', 'test'] as const) {
      chosen[split].forEach((from, to) => {
        data[split].pixels.set(cached[split].pixels.subarray(from * imageBytes, (from + 1) * imageBytes), to * imageBytes);
        data[split].labels[to] = cached[split].labels[from]!;
      });
    }
    log(`dataset ${input.versionId.slice(0, 12)}: ${keep.val} val and ${keep.test} test images from the local cache`);
  } else {
    const labelIndex = new Map(manifest.labels.map((l, i) => [l, i]));
    const progress = decodeProgress(keep.val + keep.test, log);
    for (const split of ['val', 'test'] as const) {
      await decodeInto(deps, chosen[split].map((i) => splits[split][i]!), data[split], { preprocessing: p, labelIndex, progress });
    }
    log(`dataset ${input.versionId.slice(0, 12)}: decoded ${keep.val} val and ${keep.test} test images`);
  }
  return { labels: manifest.labels, ...data, available, valHeldOutOfTrain: splits.heldOut };
}

/**
 * The test split of a dataset version, split and decoded exactly as training and loadHeldOutData do (from the local
 * cache when training cached the version). Val and train pixels are not decoded.
 */
export async function loadTestSplit(
  deps: HubDeps,
  input: { project: string; versionId: string; preprocessing: Preprocessing },
  log: (line: string) => void,
): Promise<{ labels: string[]; test: ImageSet }> {
  const { manifest } = await loadManifest(deps, input.project, input.versionId);
  const p = input.preprocessing;
  const channels = channelsOf(p.color);
  const splits = splitItems(manifest.items);
  const cacheFile = cacheFileOf(deps, input.versionId, p);
  const imageBytes = p.height * p.width * channels;
  // Training's cache of the whole version, else this split's own (written below on first use: a pipeline evaluates
  // against the same base version run after run).
  const testCacheFile = cacheFile.replace(/\.bin$/, '.test.bin');
  const cached = readHeldOutFromCache(cacheFile, { train: splits.train.length, val: splits.val.length, test: splits.test.length }, channels, imageBytes)?.test ?? readSetCache(testCacheFile, splits.test.length, channels, imageBytes);
  if (cached) {
    log(`dataset ${input.versionId.slice(0, 12)}: ${cached.count} test images from the local cache`);
    return { labels: manifest.labels, test: cached };
  }
  const started = performance.now();
  const test = await loadLabelledImages(deps, splits.test, manifest.labels, p, log);
  log(`dataset ${input.versionId.slice(0, 12)}: decoded ${test.count} test images in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  writeSets(testCacheFile, [test]);
  return { labels: manifest.labels, test };
}

/**
 * Images named by sha256 with their labels (a pipeline's holdout of reviewed items, a split), fetched from the object
 * store and decoded with the same preprocessing as dataset items; item i at position i. A label outside `labels` is refused.
 */
export async function loadLabelledImages(
  deps: HubDeps,
  items: readonly LabelledImage[],
  labels: readonly string[],
  preprocessing: Preprocessing,
  log: (line: string) => void,
): Promise<ImageSet> {
  const labelIndex = new Map(labels.map((l, i) => [l, i]));
  const unknown = items.find((item) => !labelIndex.has(item.label));
  if (unknown) throw new Error(`image ${unknown.sha256} is labelled "${unknown.label}", which is not one of the labels (${labels.join(', ')})`);
  const set = sharedImageSet(items.length, preprocessing.height, preprocessing.width, channelsOf(preprocessing.color));
  await decodeInto(deps, items, set, { preprocessing, labelIndex, progress: decodeProgress(items.length, log) });
  return set;
}

/** `max` items shared between the splits in proportion to their sizes (each keeps at least one when it has any). */
function proportionalShares(available: { val: number; test: number }, max: number): { val: number; test: number } {
  const total = available.val + available.test;
  let val = Math.round((max * available.val) / total);
  if (available.val > 0) val = Math.max(1, val);
  if (available.test > 0) val = Math.min(val, max - 1);
  return { val, test: Math.min(available.test, max - val) };
}

/** `keep` of the indices 0..n-1, seeded, in ascending order. */
function sampleIndices(n: number, keep: number, seed: number): number[] {
  if (keep >= n) return Array.from({ length: n }, (_, i) => i);
  return Array.from(seededPermutation(n, seed).subarray(0, keep)).sort((a, b) => a - b);
}

function decodeProgress(total: number, log: (line: string) => void, onEach: (done: number) => void = () => {}): () => void {
  let done = 0;
  let lastLog = performance.now();
  return () => {
    onEach(++done);
    if (done % 1000 === 0 && performance.now() - lastLog > 2000) {
      lastLog = performance.now();
      log(`loading dataset: ${done}/${total} images`);
    }
  };
}

/** Fetches and decodes `items` into `set` (item i at position i), 16 at a time. */
async function decodeInto(
  deps: HubDeps,
  items: readonly LabelledImage[],
  set: ImageSet,
  context: { preprocessing: Preprocessing; labelIndex: Map<string, number>; progress: () => void },
): Promise<void> {
  const p = context.preprocessing;
  const channels = channelsOf(p.color);
  const imageBytes = p.height * p.width * channels;
  await mapConcurrent(items, 16, async (item, i) => {
    const bytes = await deps.store.get(objectKeyForSha256(item.sha256));
    if (!bytes) throw new Error(`image ${item.sha256} of the dataset version is missing from the object store`);
    set.pixels.set(await decodeToPixels(bytes, { height: p.height, width: p.width, channels }), i * imageBytes);
    set.labels[i] = context.labelIndex.get(item.label)!;
    context.progress();
  });
}

function splitItems(items: ManifestItem[]) {
  const train = items.filter((i) => i.split === 'train');
  const val = items.filter((i) => i.split === 'val');
  const test = items.filter((i) => i.split === 'test');
  if (val.length) return { train, val, test, heldOut: false };
  return { train: train.filter((_, i) => i % VAL_EVERY !== 0), val: train.filter((_, i) => i % VAL_EVERY === 0), test, heldOut: true };
}

/** Where a version's decoded images at this preprocessing are cached (local scratch space). */
const cacheFileOf = (deps: HubDeps, versionId: string, p: Preprocessing) =>
  path.join(deps.cacheDir, 'datasets', `${versionId}-${p.height}x${p.width}x${channelsOf(p.color)}.v${CACHE_FORMAT}.bin`);

/** Cache file: the pixels then the labels of train, val and test, back to back; sizes follow from the manifest. */
function readCache(file: string, data: TrainingData): boolean {
  const sets: ImageSet[] = [data.train, data.val, data.test];
  const expected = sets.reduce((n, s) => n + s.pixels.length + s.count * 2, 0);
  return (
    readCacheFile(file, expected, (fd) => {
      sets.reduce((position, set) => readSetInto(fd, set, position), 0);
      return true;
    }) ?? false
  );
}

/** The val and test parts of a cache file written by loadTrainingData (train skipped, not read), or null when there is none. */
function readHeldOutFromCache(file: string, counts: { train: number; val: number; test: number }, channels: 1 | 3, imageBytes: number): { val: ImageSet; test: ImageSet } | null {
  return readCacheFile(file, (counts.train + counts.val + counts.test) * (imageBytes + 2), (fd) => {
    const val = emptySet(counts.val, channels, imageBytes);
    const test = emptySet(counts.test, channels, imageBytes);
    readSetInto(fd, test, readSetInto(fd, val, counts.train * (imageBytes + 2)));
    return { val, test };
  });
}

/** Runs `read` on the cache file when it exists with exactly `bytes` bytes (a file of other sizes is stale); null otherwise. */
function readCacheFile<T>(file: string, bytes: number, read: (fd: number) => T): T | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    return fs.fstatSync(fd).size === bytes ? read(fd) : null;
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads a set's pixels then labels from `position` into `set`; returns the position after them. */
function readSetInto(fd: number, set: ImageSet, position: number): number {
  const afterPixels = position + fs.readSync(fd, set.pixels, 0, set.pixels.length, position);
  return afterPixels + fs.readSync(fd, new Uint8Array(set.labels.buffer, 0, set.count * 2), 0, set.count * 2, afterPixels);
}

const emptySet = (count: number, channels: 1 | 3, imageBytes: number): ImageSet => ({ count, channels, pixels: new Uint8Array(count * imageBytes), labels: new Uint16Array(Math.max(1, count)) });

function writeCache(file: string, data: TrainingData): void {
  writeSets(file, [data.train, data.val, data.test]);
}

/** The sets' pixels then labels, back to back, written to a temporary file renamed into place (readers never see half a file). */
function writeSets(file: string, sets: ImageSet[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  for (const s of sets) {
    fs.writeSync(fd, s.pixels);
    fs.writeSync(fd, new Uint8Array(s.labels.buffer, 0, s.count * 2));
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
}

/** One set written by writeSets, or null when there is no such file or its size is not that of `count` images. */
function readSetCache(file: string, count: number, channels: 1 | 3, imageBytes: number): ImageSet | null {
  return readCacheFile(file, count * (imageBytes + 2), (fd) => {
    const set = emptySet(count, channels, imageBytes);
    readSetInto(fd, set, 0);
    return set;
  });
}
