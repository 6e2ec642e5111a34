/**
 * `edgeloop replay`: n simulated devices classify a folder of images with a channel's published model, loaded and
 * verified as the PWA loads it, and send their predictions (with embeddings) through the hub's feedback API in
 * outbox-sized batches. For backfills, load tests, and checking monitors on real data.
 *
 * Event ids are derived from (project, model, version, channel, device, file path, file sha256): replaying the same
 * folder again is a no-op on the hub (every event a duplicate), while a new model version, another channel, another
 * --session or a changed file makes new events.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import {
  type CorrectionEvent,
  DEFAULT_MAX_IMAGE_PIXELS,
  MAX_IMAGE_BYTES,
  MAX_SYNC_BATCH,
  type PredictionEvent,
  type RejectedEvent,
  type SyncResult,
  channelsOf,
  seededPermutation,
} from '@edgeloop/shared';
import { mapConcurrent } from '../concurrency';
import type { ProgressFn } from '../datasets/ingest.service';
import { HubError } from '../errors';
import { assertImageWithinPixels } from '../images/decode';
import { decodeToPixels } from '../images/to-pixels';
import { type ReplayFile, listReplayFolder } from './replay-folder';
import { type ReplayModel, classifyImage, loadReplayModel } from './replay-model';
import type { RemoteHub } from './remote-hub';

/** What the events say made them. */
export const REPLAY_APP_VERSION = 'replay';
/** Most images one replay classifies (--max-images may lower it). */
export const MAX_REPLAY_IMAGES = 1_000_000;
/** Most simulated devices. */
export const MAX_REPLAY_DEVICES = 10_000;
/** Images decoded ahead of the model, a chunk at a time: bounds memory whatever the folder's size. */
const CHUNK = 64;
const DECODE_LANES = 4;
/** Rejections and unreadable files kept for the summary (the counts are complete). */
const KEEP_REASONS = 10;

/** How simulated devices send what they classify (a folder's images or a generated stream alike). */
export interface ReplaySendOptions {
  project: string;
  /** Simulated devices: image i goes to device i mod devices. */
  devices: number;
  /** Share of labelled predictions whose label is sent as a review (a correction); 0 for none. */
  reviewRate: number;
  /** Seeds the choice of reviewed predictions. */
  seed: number;
  /** Names the simulated devices (`<session>-<n>`) and enters every event id: another session makes new events. */
  session: string;
  onProgress?: ProgressFn;
}

export interface ReplayOptions extends ReplaySendOptions {
  folder: string;
  model: string;
  channel: string;
  maxImages: number;
  /** Largest image (width x height) decoded; the hub's default project limit unless given. */
  maxImagePixels?: number;
}

/** One image as replay classifies it. */
export interface ReplayImage {
  /** Names the image in event ids and messages: a path relative to the folder, or a position in a stream. */
  key: string;
  /** The true label; null when unknown (a flat folder, an image of no class). */
  label: string | null;
  /** Decoded pixels at the model's input size: height * width * channels bytes, row-major, interleaved. */
  pixels?: Uint8Array;
  /** Why the image could not be read: it is skipped and counted. */
  unreadable?: string;
}

export interface SyncTotals {
  sent: number;
  inserted: number;
  duplicates: number;
  rejected: number;
  /** The first few rejections, with the hub's reasons. */
  rejections: RejectedEvent[];
}

export interface ReplaySummary {
  project: string;
  model: string;
  version: number;
  channel: string;
  backend: string;
  labelled: boolean;
  /** Images in the folder; `limitedTo` when --max-images cut the list. */
  found: number;
  limitedTo: number | null;
  /** Images classified (and sent). */
  images: number;
  /** Files that could not be read or decoded, with why (the first few; `unreadable` counts all). */
  unreadable: number;
  unreadableFiles: { file: string; reason: string }[];
  devices: number;
  predictions: SyncTotals;
  /** Reviews sent as corrections; policy says how their predictions were chosen (null when none were asked for). */
  reviews: SyncTotals & { policy: string | null };
  /** Top-1 accuracy against the folder's labels; null for a flat folder. */
  accuracy: number | null;
  seconds: number;
  imagesPerSecond: number;
  meanLatencyMs: number;
}

/** The policy that picks reviewed predictions until the hub offers a review queue to ask. */
export const UNIFORM_REVIEW_POLICY = 'uniform random over the labelled images (replay\'s own choice: the hub offers no review queue to ask)';

/** A uuid (version 8, RFC 9562's custom layout) from sha256 of the parts: the same parts, the same id. */
export function derivedUuid(...parts: string[]): string {
  const hex = crypto.createHash('sha256').update(parts.join('\u0000')).digest('hex');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

const emptyTotals = (): SyncTotals => ({ sent: 0, inserted: 0, duplicates: 0, rejected: 0, rejections: [] });

function addResult(totals: SyncTotals, result: SyncResult): void {
  totals.sent += result.received;
  totals.inserted += result.inserted;
  totals.duplicates += result.duplicates;
  totals.rejected += result.rejected.length;
  totals.rejections.push(...result.rejected.slice(0, KEEP_REASONS - totals.rejections.length));
}

/** Checks what a replay needs of its token before it classifies anything. */
async function checkToken(hub: RemoteHub, options: { reviewRate: number }): Promise<void> {
  if (options.reviewRate === 0) return;
  const me = await hub.auth.whoami.query();
  if (!['admin', 'engineer', 'labeler'].includes(me.role)) {
    throw new HubError('FORBIDDEN', `--review-rate sends the folder's labels as reviews, which needs a labeler, engineer or admin token; this is a ${me.role} token ("${me.name}")`);
  }
}

/** The model to replay when --model is not given: the project's only one. */
export async function onlyModel(hub: RemoteHub, project: string): Promise<string> {
  const models = await hub.registry.models.query({ project }).catch((error: Error) => {
    throw new HubError('BAD_REQUEST', `give --model (this token cannot list the models of "${project}": ${error.message})`);
  });
  const names = (models as { name: string }[]).map((m) => m.name);
  if (names.length === 1) return names[0]!;
  throw new HubError('BAD_REQUEST', names.length === 0 ? `"${project}" has no published model yet` : `give --model: "${project}" has ${names.length} models: ${names.join(', ')}`);
}

async function decodeFile(file: ReplayFile, preprocessing: ReplayModel['manifest']['preprocessing'], maxPixels: number): Promise<ReplayImage> {
  const image = { key: file.relative, label: file.label };
  try {
    const stat = await fs.stat(file.file);
    if (stat.size > MAX_IMAGE_BYTES) return { ...image, unreadable: `${stat.size} bytes; at most ${MAX_IMAGE_BYTES} are read` };
    const bytes = await fs.readFile(file.file);
    await assertImageWithinPixels(bytes, file.relative, maxPixels);
    const p = preprocessing;
    return { ...image, pixels: await decodeToPixels(bytes, { height: p.height, width: p.width, channels: channelsOf(p.color) }, maxPixels) };
  } catch (error) {
    return { ...image, unreadable: (error as Error).message.split('\n')[0]! };
  }
}

/** The files decoded a chunk at a time, the next chunk decoding while the model works on this one. */
async function* decodedFiles(files: ReplayFile[], loaded: ReplayModel, maxPixels: number): AsyncGenerator<ReplayImage> {
  const decodeChunk = (from: number) => mapConcurrent(files.slice(from, from + CHUNK), DECODE_LANES, (file) => decodeFile(file, loaded.manifest.preprocessing, maxPixels));
  let next: Promise<ReplayImage[]> | null = decodeChunk(0);
  for (let from = 0; next; from += CHUNK) {
    const current: ReplayImage[] = await next;
    next = from + CHUNK < files.length ? decodeChunk(from + CHUNK) : null;
    yield* current;
  }
}

export async function replay(hub: RemoteHub, hubUrl: string, options: ReplayOptions): Promise<ReplaySummary> {
  const loaded = await loadReplayModel(hub, hubUrl, { project: options.project, model: options.model, channel: options.channel });
  try {
    const listing = await listReplayFolder(options.folder, loaded.manifest.labels);
    const files = listing.files.slice(0, options.maxImages);
    if (files.length === 0) throw new HubError('BAD_REQUEST', `${options.folder} holds no images`);
    const summary = await replayImages(hub, loaded, decodedFiles(files, loaded, options.maxImagePixels ?? DEFAULT_MAX_IMAGE_PIXELS), { ...options, total: files.length, labelled: listing.labelled });
    return { ...summary, found: listing.files.length, limitedTo: listing.files.length > files.length ? files.length : null };
  } finally {
    loaded.dispose();
  }
}

/**
 * Classifies `images` (`total` of them) with the loaded model and sends the predictions as `devices` simulated
 * devices, each in outbox-sized batches; with a review rate, the labels of that share of the labelled images
 * follow as reviews once their predictions are stored. What the monitoring benchmark streams through, too.
 */
export async function replayImages(
  hub: RemoteHub,
  loaded: ReplayModel,
  stream: AsyncIterable<ReplayImage> | Iterable<ReplayImage>,
  options: ReplaySendOptions & { total: number; labelled: boolean },
): Promise<ReplaySummary> {
  await checkToken(hub, options);
  const deviceIds = Array.from({ length: options.devices }, (_, d) => `${options.session}-${d + 1}`);
  const deviceOf = (index: number) => deviceIds[index % options.devices]!;

  // Reviews: a fixed share of the images, chosen up front (seeded) so a rerun chooses the same ones.
  const reviewed = new Set<number>();
  if (options.reviewRate > 0 && options.labelled) {
    const order = seededPermutation(options.total, options.seed);
    for (let k = 0; k < Math.round(options.reviewRate * options.total); k++) reviewed.add(order[k]!);
  }

  const predictions = emptyTotals();
  const reviews = emptyTotals();
  const unreadableFiles: { file: string; reason: string }[] = [];
  let unreadable = 0;
  let images = 0;
  let correct = 0;
  let labelledImages = 0;
  let latencyTotal = 0;
  const outboxes = new Map<string, { event: PredictionEvent; review: CorrectionEvent | null }[]>();
  const readyReviews: CorrectionEvent[] = [];

  const sendReviews = async (all: boolean) => {
    while (readyReviews.length >= MAX_SYNC_BATCH || (all && readyReviews.length > 0)) {
      const batch = readyReviews.splice(0, MAX_SYNC_BATCH);
      addResult(reviews, await hub.feedback.syncCorrections.mutate({ project: options.project, corrections: batch }));
    }
  };
  const sendOutbox = async (deviceId: string) => {
    const batch = outboxes.get(deviceId) ?? [];
    outboxes.delete(deviceId);
    if (batch.length === 0) return;
    const result = await hub.feedback.syncPredictions.mutate({ project: options.project, predictions: batch.map((b) => b.event) });
    addResult(predictions, result);
    // A review follows its prediction only once the hub holds that prediction.
    const refused = new Set(result.rejected.map((r) => r.index));
    batch.forEach((b, i) => b.review && !refused.has(i) && readyReviews.push(b.review));
    await sendReviews(false);
  };

  const started = performance.now();
  const progressEvery = Math.max(1, Math.floor(options.total / 200));
  options.onProgress?.(0, options.total);
  let index = -1;
  try {
    for await (const item of stream) {
      index++;
      if (index % progressEvery === 0) options.onProgress?.(index, options.total);
      if (!item.pixels) {
        unreadable++;
        if (unreadableFiles.length < KEEP_REASONS) unreadableFiles.push({ file: item.key, reason: item.unreadable ?? 'no pixels' });
        continue;
      }
      const result = await classifyImage(loaded, item.pixels);
      const deviceId = deviceOf(index);
      const sha256 = crypto.createHash('sha256').update(item.pixels).digest('hex');
      const id = derivedUuid('prediction', options.session, options.project, loaded.ref.model, String(loaded.version), loaded.ref.channel, deviceId, item.key, sha256);
      const createdAt = new Date().toISOString();
      const event: PredictionEvent = {
        id,
        model: loaded.ref.model,
        version: loaded.version,
        backend: loaded.backend,
        latencyMs: result.latencyMs,
        top: result.top,
        embedding: result.embedding,
        source: 'file',
        createdAt,
        deviceId,
        appVersion: REPLAY_APP_VERSION,
        channel: loaded.ref.channel,
      };
      const review = reviewed.has(index) && item.label !== null ? { id: derivedUuid('review', id), predictionId: id, label: item.label, createdAt } : null;
      images++;
      latencyTotal += result.latencyMs;
      if (item.label !== null) {
        labelledImages++;
        if (result.top[0]!.label === item.label) correct++;
      }
      const outbox = outboxes.get(deviceId) ?? [];
      outbox.push({ event, review });
      outboxes.set(deviceId, outbox);
      if (outbox.length >= MAX_SYNC_BATCH) await sendOutbox(deviceId);
    }
    options.onProgress?.(options.total, options.total);
    for (const deviceId of [...outboxes.keys()]) await sendOutbox(deviceId);
    await sendReviews(true);
  } catch (error) {
    throw new Error(
      `replay stopped after ${predictions.sent} predictions were sent: ${(error as Error).message}; running it again resends only what the hub lacks (event ids are derived from device and file)`,
      { cause: error },
    );
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    project: options.project,
    model: loaded.ref.model,
    version: loaded.version,
    channel: loaded.ref.channel,
    backend: loaded.backend,
    labelled: options.labelled,
    found: options.total,
    limitedTo: null,
    images,
    unreadable,
    unreadableFiles,
    devices: options.devices,
    predictions,
    reviews: { ...reviews, policy: options.reviewRate > 0 && options.labelled ? UNIFORM_REVIEW_POLICY : null },
    accuracy: labelledImages > 0 ? correct / labelledImages : null,
    seconds,
    imagesPerSecond: images / Math.max(seconds, 1e-9),
    meanLatencyMs: images > 0 ? latencyTotal / images : 0,
  };
}

/** The summary as a person reads it. */
export function summaryLines(s: ReplaySummary, options: { reviewRate: number }): string[] {
  const totals = (t: SyncTotals) => `${t.sent} sent, ${t.inserted} inserted, ${t.duplicates} duplicates, ${t.rejected} rejected`;
  const lines = [
    `${s.project}/${s.model} v${s.version} (${s.channel}) on ${s.backend}: ${s.images} images classified by ${s.devices} device${s.devices === 1 ? '' : 's'}${s.limitedTo !== null ? ` (the first ${s.limitedTo} of ${s.found}: --max-images)` : ''}`,
    `predictions: ${totals(s.predictions)}`,
  ];
  for (const r of s.predictions.rejections) lines.push(`  rejected #${r.index}${r.id ? ` ${r.id}` : ''}: ${r.reason}`);
  if (s.reviews.policy) {
    lines.push(`reviews (${Math.round(options.reviewRate * 100 * 100) / 100}% of labelled predictions, chosen by: ${s.reviews.policy}): ${totals(s.reviews)}`);
    for (const r of s.reviews.rejections) lines.push(`  rejected #${r.index}${r.id ? ` ${r.id}` : ''}: ${r.reason}`);
  } else if (options.reviewRate > 0) {
    lines.push('reviews: none sent: a flat folder has no labels to review with');
  }
  if (s.unreadable > 0) {
    lines.push(`unreadable: ${s.unreadable} files skipped`);
    for (const u of s.unreadableFiles) lines.push(`  ${u.file}: ${u.reason}`);
  }
  lines.push(s.accuracy === null ? 'accuracy: unknown (a flat folder has no labels)' : `accuracy: ${(s.accuracy * 100).toFixed(2)}% top-1 against the folder's labels`);
  lines.push(`${s.imagesPerSecond.toFixed(1)} images/s (${s.seconds.toFixed(1)} s; mean latency ${s.meanLatencyMs.toFixed(2)} ms per image)`);
  return lines;
}
