/**
 * Contracts of the hub's stream monitors beyond the pure engine: what an alert says (stored as alerts.explanation and
 * sent to the admin, the CLI and webhooks), the latency bins of the per-minute rollups, and the monitor.update job's
 * message.
 */
import { z } from 'zod';
import { channelNameSchema } from './model-manifest';
import { SEQUENTIAL_DETECTORS, monitorSnapshotSchema } from './monitoring';

/** A device, app version or backend whose share of the alert's window is above its share of the stream's history. */
export const alertContributorSchema = z.object({
  key: z.string(),
  /** Events of this key in the window and its share of the window. */
  windowEvents: z.number().int().min(0),
  windowShare: z.number().min(0).max(1),
  /** Its share of the stream's earlier events (0 when it is new). */
  historyShare: z.number().min(0).max(1),
});
export type AlertContributor = z.infer<typeof alertContributorSchema>;

export const alertExplanationSchema = z.object({
  detector: z.enum(SEQUENTIAL_DETECTORS),
  /** What the effect gate saw, in words (shared's alertDecisions). */
  effect: z.string(),
  /** The snapshot's explaining parts at the alarm: class mix, confidence, label shift, accuracy, embeddings. */
  moved: monitorSnapshotSchema.pick({ classMix: true, confidence: true, labelShift: true, accuracy: true, embedding: true }),
  /** Over-represented in the window vs the stream's history, largest excess first (at most 5 each). */
  contributors: z.object({
    /** Events behind the window shares, and behind the history shares. */
    windowEvents: z.number().int().min(0),
    historyEvents: z.number().int().min(0),
    devices: z.array(alertContributorSchema),
    appVersions: z.array(alertContributorSchema),
    backends: z.array(alertContributorSchema),
  }),
});
export type AlertExplanation = z.infer<typeof alertExplanationSchema>;

/**
 * Latency bins of the rollups: bin 0 holds latencies below 1 ms, bin i (1..30) holds [2^((i-1)/2), 2^(i/2)) ms, and
 * the last bin everything from 2^15 ms (about 33 s) up.
 */
export const LATENCY_BINS = 32;

export function latencyBin(ms: number): number {
  if (!(ms >= 1)) return 0;
  return Math.min(LATENCY_BINS - 1, 1 + Math.floor(2 * Math.log2(ms)));
}

/** Lower edge in ms of each latency bin [LATENCY_BINS] (0 for the first). */
export function latencyBinEdges(): number[] {
  return Array.from({ length: LATENCY_BINS }, (_, i) => (i === 0 ? 0 : 2 ** ((i - 1) / 2)));
}

/** Calibrated-confidence bins of the rollups: 20 of width 0.05. */
export const CONFIDENCE_BINS = 20;

export const confidenceBin = (confidence: number): number => Math.min(CONFIDENCE_BINS - 1, Math.max(0, Math.floor(confidence * CONFIDENCE_BINS)));

/** The monitor.update job's message: the stream to bring up to date, named by what makes it (made on first use). */
export const monitorUpdateJobSchema = z.object({
  projectId: z.uuid(),
  modelVersionId: z.uuid(),
  channel: channelNameSchema,
});
export type MonitorUpdateJob = z.infer<typeof monitorUpdateJobSchema>;

/** Why a monitor.webhook job posts: the alert opened or resolved (the payload's type is `alert.<event>`). */
export const WEBHOOK_EVENTS = ['opened', 'resolved'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** The monitor.webhook job's message: one alert's change to post to its project's webhook. */
export const monitorWebhookJobSchema = z.object({
  alertId: z.uuid(),
  event: z.enum(WEBHOOK_EVENTS),
});
export type MonitorWebhookJob = z.infer<typeof monitorWebhookJobSchema>;
