/**
 * What devices send back: predictions (with an embedding for drift detection) and the labels people give them
 * (ground truth). Ids are made on the device, so a batch sent twice changes nothing.
 */
import { z } from 'zod';
import { labelSchema, projectSlugSchema } from './dataset';
import { channelNameSchema, modelNameSchema, versionNumberSchema } from './model-manifest';
import { embeddingToBytes } from './embedding-bytes';
import { float32Array } from './text';

export const INFERENCE_BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu', 'tensorflow'] as const;
export type InferenceBackend = (typeof INFERENCE_BACKENDS)[number];

export const PREDICTION_SOURCES = ['camera', 'file', 'drop', 'paste'] as const;
export type PredictionSource = (typeof PREDICTION_SOURCES)[number];

/**
 * At most this many events per sync call; the outbox sends larger queues in several batches. With the bounds below a
 * full batch of the largest events stays under the hub's body limit for a sync call (see MAX_SYNC_BODY_BYTES).
 */
export const MAX_SYNC_BATCH = 100;
/** Longest embedding accepted (the reference CNN's is 128). */
export const MAX_EMBEDDING_SIZE = 2048;
/** Most classes a prediction event may list (devices send their top 5). */
export const MAX_TOP_CLASSES = 20;
/**
 * The hub's request body limit for a prediction sync call. The largest valid event is about 60 KB of JSON (2048
 * embedding values of up to 24 characters, 20 classes with 64-character labels), so MAX_SYNC_BATCH of them fit.
 */
export const MAX_SYNC_BODY_BYTES = 8 * 1024 * 1024;

/**
 * A time a device's clock gave (or a cursor made from one): an ISO 8601 date-time in a range a device clock can
 * plausibly be in, and one the database can store (it has no year 0 and no negative years).
 */
export const clientTimeSchema = z.iso
  .datetime({ offset: true, message: 'must be an ISO 8601 date-time' })
  .refine((value) => Date.parse(value) >= Date.UTC(2000, 0, 1) && Date.parse(value) < Date.UTC(2200, 0, 1), 'must be between 2000 and 2200');

/** The most probable classes, best first: what a device sends with a prediction and its row keeps. */
export const topClassesSchema = z
  .array(z.object({ label: labelSchema, probability: z.number().min(0).max(1) }))
  .min(1, 'top must hold at least one class')
  .max(MAX_TOP_CLASSES, `top must hold at most ${MAX_TOP_CLASSES} classes`);
export type TopClasses = z.infer<typeof topClassesSchema>;

/** The channel a device runs when it names none (and what events from devices older than the field were sent from). */
export const DEFAULT_CHANNEL = 'production';

/**
 * The installation's own random id (the PWA makes a uuid once and keeps it): letters, digits, `-` and `_` only, so it
 * is safe in logs, URLs and keys; bounded so a device cannot store a large blob in every row.
 */
export const deviceIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{8,64}$/, 'deviceId must be 8-64 characters of A-Z, a-z, 0-9, - and _ (a random id made once per installation)');

/** The app build that made the event, e.g. `1.4.0` or `1.4.0-rc.1+abc123`: semver-like characters, bounded. */
export const appVersionSchema = z
  .string()
  .regex(/^[0-9A-Za-z][0-9A-Za-z.+_-]{0,39}$/, 'appVersion must be 1-40 characters of A-Z, a-z, 0-9, ., +, - and _, starting with a letter or digit (e.g. 1.4.0)');

export const predictionEventSchema = z.object({
  /** uuid made on the device: the idempotency key. */
  id: z.uuid('id must be a uuid made on the device'),
  model: modelNameSchema,
  version: versionNumberSchema,
  backend: z.enum(INFERENCE_BACKENDS, { error: () => `backend must be one of: ${INFERENCE_BACKENDS.join(', ')}` }),
  latencyMs: z.number().min(0, 'latencyMs must be >= 0').max(600_000),
  top: topClassesSchema,
  /** Output of the model's embedding layer (the penultimate one) for this image; stored as float32. */
  embedding: float32Array(z.array(z.number()).min(1).max(MAX_EMBEDDING_SIZE, `embedding must hold at most ${MAX_EMBEDDING_SIZE} values`)),
  source: z.enum(PREDICTION_SOURCES, { error: () => `source must be one of: ${PREDICTION_SOURCES.join(', ')}` }),
  createdAt: clientTimeSchema,
  /** Optional (devices older than these fields send none): which installation, app build and channel made it. */
  deviceId: deviceIdSchema.optional(),
  appVersion: appVersionSchema.optional(),
  /** The channel the device took its model from; absent means DEFAULT_CHANNEL. */
  channel: channelNameSchema.optional(),
});
export type PredictionEvent = z.infer<typeof predictionEventSchema>;

export const LABEL_OR_UNUSABLE = 'exactly one of label (the right label) or unusable: true ("none of these labels / unusable") must be given';

export const correctionEventSchema = z
  .object({
    id: z.uuid('id must be a uuid made on the device'),
    predictionId: z.uuid('predictionId must be the id of a synced prediction'),
    /** The right label: the predicted one to confirm it, another to correct it. Absent when `unusable`. */
    label: labelSchema.optional(),
    /** "None of these labels / unusable": the image shows none of the project's labels, or cannot be judged. */
    unusable: z.literal(true, { error: () => 'unusable must be true when given (leave it out to give a label)' }).optional(),
    createdAt: clientTimeSchema,
    /** The review assignment the label answers (feedback.nextReviews gave it); absent for a label given unasked. */
    assignmentId: z.uuid('assignmentId must be the id of a review assignment (feedback.nextReviews)').optional(),
  })
  .superRefine((event, ctx) => {
    if ((event.label === undefined) === (event.unusable === undefined)) ctx.addIssue({ code: 'custom', path: ['label'], message: LABEL_OR_UNUSABLE });
  });
export type CorrectionEvent = z.infer<typeof correctionEventSchema>;

/** A correction's verdict as one value: the label given, or null for "none of these labels / unusable". */
export const verdictOf = (event: Pick<CorrectionEvent, 'label' | 'unusable'>): string | null => (event.unusable ? null : event.label!);

/**
 * A prediction event as clients send it: its embedding as numbers (`embedding`), or as `embeddingBase64`, its float32
 * values little-endian in base64 (embeddingToBase64): 2.6x less JSON to send and for the hub to parse. The hub checks
 * and stores either as float32 values.
 */
export type SentPredictionEvent = Omit<z.input<typeof predictionEventSchema>, 'embedding'> & ({ embedding: number[] } | { embeddingBase64: string });

/**
 * A sync call's envelope. Only the envelope is checked as a whole: each event is checked on its own (with
 * predictionEventSchema / correctionEventSchema), so one bad event is rejected alone and the rest are stored.
 * The events are typed for clients but may be anything on the wire.
 */
export const syncPredictionsInputSchema = z.object({
  project: projectSlugSchema,
  predictions: z.array(z.custom<SentPredictionEvent>()).max(MAX_SYNC_BATCH, `at most ${MAX_SYNC_BATCH} per call`),
});
export const syncCorrectionsInputSchema = z.object({
  project: projectSlugSchema,
  corrections: z.array(z.custom<z.input<typeof correctionEventSchema>>()).max(MAX_SYNC_BATCH, `at most ${MAX_SYNC_BATCH} per call`),
});
export type SyncPredictionsInput = z.infer<typeof syncPredictionsInputSchema>;
export type SyncCorrectionsInput = z.infer<typeof syncCorrectionsInputSchema>;

/**
 * The bulk endpoint for devices and backfills: `POST BULK_PREDICTIONS_PATH` with `Authorization: Bearer <token>` and a
 * JSON body `{ project, predictions: [...] }` of up to MAX_BULK_BATCH prediction events (SentPredictionEvent), each
 * checked as in `feedback.syncPredictions`. Answers a SyncResult, or `{ error: { code, message } }`.
 */
export const BULK_PREDICTIONS_PATH = '/v1/feedback/predictions';
export const MAX_BULK_BATCH = 1000;
/** 1,000 events with base64 embeddings of any allowed size fit; events with number arrays may need smaller batches. */
export const MAX_BULK_BODY_BYTES = 16 * 1024 * 1024;

export const bulkPredictionsInputSchema = z.object({
  project: projectSlugSchema,
  predictions: z.array(z.unknown()).max(MAX_BULK_BATCH, `at most ${MAX_BULK_BATCH} per call`),
});

/** An embedding as `embeddingBase64`: its float32 values, little-endian, as base64. */
export function embeddingToBase64(values: ArrayLike<number>): string {
  const bytes = embeddingToBytes(values);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** The event as it is best sent: its embedding as embeddingBase64. */
export function withEmbeddingBase64({ embedding, ...event }: PredictionEvent): SentPredictionEvent {
  return { ...event, embeddingBase64: embeddingToBase64(embedding) };
}

/** An event the hub refused, and why; it was not stored and sending it again changes nothing. */
export interface RejectedEvent {
  /** The event's id, when it had a valid one. */
  id: string | null;
  /** Its position in the batch. */
  index: number;
  /** What is wrong with it, naming the field, e.g. `top.0.label "horse" is not a label of project "pets"; ...`. */
  reason: string;
}

/**
 * What a sync call answers, per event: each was stored now (inserted), was already there (duplicates), or was
 * rejected with a reason. received = inserted + duplicates + rejected.length.
 */
export interface SyncResult {
  received: number;
  inserted: number;
  duplicates: number;
  rejected: RejectedEvent[];
}
