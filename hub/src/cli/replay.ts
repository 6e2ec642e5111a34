/**
 * `edgeloop replay`: n simulated devices classify a folder of images with a channel's published model, loaded and
 * verified as the PWA loads it, and send their predictions (with embeddings) through the hub's feedback API in
 * outbox-sized batches. For backfills, load tests, and checking monitors on real data.
 *
 * Event ids are derived from (session, project, model, version, channel, device, file path, sha256 of the decoded
 * pixels): replaying the same folder again is a no-op on the hub (every event a duplicate), while a new model
 * version, another channel, another --session, another --devices or a changed image makes new events. With a review
 * rate, the hub's review policy chooses which predictions are reviewed, and the folder's labels answer its queue
 * (replay-reviews.ts).
 */
import fs from 'node:fs/promises';
import {
  DEFAULT_MAX_IMAGE_PIXELS,
  MAX_IMAGE_BYTES,
  MAX_SYNC_BATCH,
  type PredictionEvent,
  type RejectedEvent,
  type ReviewComponent,
  type SyncResult,
  channelsOf,
  withEmbeddingBase64,
} from '@edgeloop/shared';
import type { TRPCClientError } from '@trpc/client';
import type { AppRouter } from '../api/app.router';
import { mapConcurrent } from '../concurrency';
import type { ProgressFn } from '../datasets/ingest.service';
import { HubError } from '../errors';
import { assertImageWithinPixels } from '../images/decode';
import { decodeToPixels } from '../images/to-pixels';
import { sha256Hex } from '../sha256';
import { type ReplayFile, listReplayFolder } from './replay-folder';
import { type ReplayModel, classifyImage, loadReplayModel, modelForDevice } from './replay-model';
import { type MonitorWait, type ReviewStream, answerReviews, checkReviewToken, processedEvents, setReviewRate, waitForMonitor } from './replay-reviews';
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
/** How long replay waits, by default, for the hub's monitor to process the replayed events before answering reviews. */
export const DEFAULT_REVIEW_TIMEOUT_SECONDS = 120;

/** How simulated devices send what they classify (a folder's images or a generated stream alike). */
export interface ReplaySendOptions {
  project: string;
  /** Simulated devices: image i goes to device i mod devices. */
  devices: number;
  /**
   * The project's review rate to set (0 for none): the hub's review policy queues about this share of the replayed
   * predictions, and the folder's labels answer its queue.
   */
  reviewRate: number;
  /** Seconds to wait for the hub's monitor to process the replayed events before answering (default 120). */
  reviewTimeoutSeconds?: number;
  /** The wait for the monitor: replayed events processed of those expected. */
  onMonitorProgress?: ProgressFn;
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
  /** Answers to the hub's review queue, sent as corrections; null without a review rate or without labels. */
  reviews: ReplayReviews | null;
  /** Top-1 accuracy against the folder's labels; null for a flat folder. */
  accuracy: number | null;
  seconds: number;
  imagesPerSecond: number;
  meanLatencyMs: number;
}

export interface ReplayReviews extends SyncTotals {
  /** The project's review rate replay set, and the one it had before. */
  reviewRate: number;
  previousReviewRate: number;
  /** The review policy the hub named (null when its queue was never asked: nothing new to process). */
  policy: string | null;
  /** Queue items the hub gave for the replayed predictions, and by which of the policy's components. */
  asked: number;
  components: Record<ReviewComponent, number>;
  monitor: MonitorWait;
}

/** A uuid (version 8, RFC 9562's custom layout) from sha256 of the parts: the same parts, the same id. */
export function derivedUuid(...parts: string[]): string {
  const hex = sha256Hex(parts.join('\u0000'));
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The device that classifies the stream's index-th image: devices take turns, named <session>-1..n. */
export const replayDeviceId = (session: string, devices: number, index: number) => `${session}-${(index % devices) + 1}`;

/**
 * A replayed prediction's id: the same session, model version, channel, device and image (key and pixels) give the
 * same id, so a rerun sends duplicates the hub drops, not new events.
 */
export function replayPredictionId(p: { session: string; project: string; model: string; version: number; channel: string; deviceId: string; key: string; pixels: Uint8Array }): string {
  return derivedUuid('prediction', p.session, p.project, p.model, String(p.version), p.channel, p.deviceId, p.key, sha256Hex(p.pixels));
}

const emptyTotals = (): SyncTotals => ({ sent: 0, inserted: 0, duplicates: 0, rejected: 0, rejections: [] });

function addResult(totals: SyncTotals, result: SyncResult): void {
  totals.sent += result.received;
  totals.inserted += result.inserted;
  totals.duplicates += result.duplicates;
  totals.rejected += result.rejected.length;
  totals.rejections.push(...result.rejected.slice(0, KEEP_REASONS - totals.rejections.length));
}

/** The model to replay when --model is not given: the project's only one. */
export async function onlyModel(hub: RemoteHub, project: string): Promise<string> {
  const models = await hub.registry.models.query({ project }).catch((error: Error) => {
    if ((error as TRPCClientError<AppRouter>).data?.code !== 'FORBIDDEN') throw error;
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
 * devices, each in outbox-sized batches; with a review rate (and labels), sets the project's rate first and, once the
 * hub's monitor has processed the events, answers the review queue's items among them with their labels. What the
 * monitoring benchmark streams through, too.
 */
export async function replayImages(
  hub: RemoteHub,
  loaded: ReplayModel,
  stream: AsyncIterable<ReplayImage> | Iterable<ReplayImage>,
  options: ReplaySendOptions & { total: number; labelled: boolean },
): Promise<ReplaySummary> {
  const reviewing = options.reviewRate > 0 && options.labelled;
  const monitored: ReviewStream = { project: options.project, model: loaded.ref.model, version: loaded.version, channel: loaded.ref.channel };
  let previousReviewRate = 0;
  let processedBefore = 0;
  if (reviewing) {
    // Before anything is classified: the token may set the rate, and the monitor decides the replayed events with it.
    await checkReviewToken(hub);
    previousReviewRate = await setReviewRate(hub, options.project, options.reviewRate);
    processedBefore = await processedEvents(hub, monitored);
  }

  const predictions = emptyTotals();
  const reviews = emptyTotals();
  /** The folder's label of each prediction the hub holds (inserted now or before), to answer its review with. */
  const labels = new Map<string, string>();
  const unreadableFiles: { file: string; reason: string }[] = [];
  let unreadable = 0;
  let images = 0;
  let correct = 0;
  let labelledImages = 0;
  let latencyTotal = 0;
  const outboxes = new Map<string, { event: PredictionEvent; label: string | null }[]>();

  const sendOutbox = async (deviceId: string) => {
    const batch = outboxes.get(deviceId) ?? [];
    outboxes.delete(deviceId);
    if (batch.length === 0) return;
    const result = await hub.feedback.syncPredictions.mutate({ project: options.project, predictions: batch.map((b) => withEmbeddingBase64(b.event)) });
    addResult(predictions, result);
    if (!reviewing) return;
    const refused = new Set(result.rejected.map((r) => r.index));
    batch.forEach((b, i) => b.label !== null && !refused.has(i) && labels.set(b.event.id, b.label));
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
      const deviceId = replayDeviceId(options.session, options.devices, index);
      // A device in the channel's canary runs the candidate, as a PWA would.
      const model = modelForDevice(loaded, deviceId);
      const result = await classifyImage(model, item.pixels);
      const id = replayPredictionId({ session: options.session, project: options.project, model: loaded.ref.model, version: model.version, channel: loaded.ref.channel, deviceId, key: item.key, pixels: item.pixels });
      const createdAt = new Date().toISOString();
      const event: PredictionEvent = {
        id,
        model: loaded.ref.model,
        version: model.version,
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
      images++;
      latencyTotal += result.latencyMs;
      if (item.label !== null) {
        labelledImages++;
        if (result.top[0]!.label === item.label) correct++;
      }
      const outbox = outboxes.get(deviceId) ?? [];
      outbox.push({ event, label: item.label });
      outboxes.set(deviceId, outbox);
      if (outbox.length >= MAX_SYNC_BATCH) await sendOutbox(deviceId);
    }
    options.onProgress?.(options.total, options.total);
    for (const deviceId of [...outboxes.keys()]) await sendOutbox(deviceId);
  } catch (error) {
    throw new Error(
      `replay stopped after ${predictions.sent} predictions were sent: ${(error as Error).message}; running it again resends only what the hub lacks (event ids are derived from device and file)`,
      { cause: error },
    );
  }
  const seconds = (performance.now() - started) / 1000;
  let answered: ReplayReviews | null = null;
  if (reviewing) {
    const monitor = await waitForMonitor(hub, monitored, {
      before: processedBefore,
      expected: predictions.inserted,
      timeoutSeconds: options.reviewTimeoutSeconds ?? DEFAULT_REVIEW_TIMEOUT_SECONDS,
      ...(options.onMonitorProgress ? { onProgress: options.onMonitorProgress } : {}),
    });
    const asked = await answerReviews(hub, { project: options.project, labels, correctionId: (assignmentId) => derivedUuid('review', assignmentId) }, async (batch) => {
      addResult(reviews, await hub.feedback.syncCorrections.mutate({ project: options.project, corrections: batch }));
    }).catch((error: Error) => {
      throw new Error(`replay sent its predictions, then answering the review queue stopped after ${reviews.sent} labels: ${error.message}; running it again answers the rest`, { cause: error });
    });
    answered = { ...reviews, reviewRate: options.reviewRate, previousReviewRate, ...asked, monitor };
  }
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
    reviews: answered,
    accuracy: labelledImages > 0 ? correct / labelledImages : null,
    seconds,
    imagesPerSecond: images / Math.max(seconds, 1e-9),
    meanLatencyMs: images > 0 ? latencyTotal / images : 0,
  };
}

/** The summary as a person reads it. */
export function summaryLines(s: ReplaySummary, options: { reviewRate: number }): string[] {
  const percent = (rate: number) => `${Math.round(rate * 100 * 100) / 100}%`;
  const totals = (t: SyncTotals) => `${t.sent} sent, ${t.inserted} inserted, ${t.duplicates} duplicates, ${t.rejected} rejected`;
  const lines = [
    `${s.project}/${s.model} v${s.version} (${s.channel}) on ${s.backend}: ${s.images} images classified by ${s.devices} device${s.devices === 1 ? '' : 's'}${s.limitedTo !== null ? ` (the first ${s.limitedTo} of ${s.found}: --max-images)` : ''}`,
    `predictions: ${totals(s.predictions)}`,
  ];
  for (const r of s.predictions.rejections) lines.push(`  rejected #${r.index}${r.id ? ` ${r.id}` : ''}: ${r.reason}`);
  const r = s.reviews;
  if (r) {
    const m = r.monitor;
    lines.push(`review rate of "${s.project}": ${percent(r.reviewRate)} (was ${percent(r.previousReviewRate)})`);
    lines.push(
      m.expected === 0
        ? 'hub monitor: no new events to wait for (the hub held every prediction already)'
        : m.caughtUp
          ? `hub monitor: processed the ${m.expected} new events in ${m.seconds.toFixed(1)} s`
        : `hub monitor: processed ${m.processed} of the ${m.expected} new events in ${m.seconds.toFixed(1)} s${m.stalled ? `: ${m.stalled}` : ' (--review-timeout)'}; run the same command again later to answer the rest of its queue`,
    );
    lines.push(
      `reviews${r.policy ? ` (policy ${r.policy})` : ''}: ${r.asked} asked by the hub's queue (${r.components.uniform} uniform, ${r.components.uncertainty} uncertainty), answered with the folder's labels: ${totals(r)}`,
    );
    for (const x of r.rejections) lines.push(`  rejected #${x.index}${x.id ? ` ${x.id}` : ''}: ${x.reason}`);
  } else if (options.reviewRate > 0) {
    lines.push('reviews: none: a flat folder has no labels to answer the review queue with (the review rate was left as it was)');
  }
  if (s.unreadable > 0) {
    lines.push(`unreadable: ${s.unreadable} files skipped`);
    for (const u of s.unreadableFiles) lines.push(`  ${u.file}: ${u.reason}`);
  }
  lines.push(s.accuracy === null ? 'accuracy: unknown (a flat folder has no labels)' : `accuracy: ${(s.accuracy * 100).toFixed(2)}% top-1 against the folder's labels`);
  lines.push(`${s.imagesPerSecond.toFixed(1)} images/s (${s.seconds.toFixed(1)} s; mean latency ${s.meanLatencyMs.toFixed(2)} ms per image)`);
  return lines;
}
