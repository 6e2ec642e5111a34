/**
 * Checking a prediction event, as both sync paths take it: its embedding as `embedding` (numbers) or as
 * `embeddingBase64` (its float32 values, little-endian), and either way checked and kept as float32 values, as stored.
 *
 * The common case goes without zod's per-value overhead or a copy of the event (quickPrediction): an event that is
 * certainly valid comes back as predictionEventSchema would parse it; anything else (a problem, or just something
 * unusual: an unknown key, an upper-case uuid, a time not in toISOString's form) gives null, and the schema decides,
 * with its messages. So the quick check may only be stricter than the schema, never looser (prediction-check.test.ts
 * checks both on valid and broken events).
 */
import {
  INFERENCE_BACKENDS,
  MAX_EMBEDDING_SIZE,
  MAX_MODEL_VERSION,
  MAX_TOP_CLASSES,
  PREDICTION_SOURCES,
  type PredictionEvent,
  appVersionSchema,
  channelNameSchema,
  deviceIdSchema,
  embeddingFromBytes,
  formatIssues,
  labelSchema,
  modelNameSchema,
  predictionEventSchema,
} from '@edgeloop/shared';
import { z } from 'zod';

/** A prediction event as checked: its embedding as float32 values, however it was sent. */
export type CheckedPrediction = Omit<PredictionEvent, 'embedding'> & { embedding: Float32Array };

const KEYS = new Set(['id', 'model', 'version', 'backend', 'latencyMs', 'top', 'embedding', 'embeddingBase64', 'source', 'createdAt', 'deviceId', 'appVersion', 'channel']);
/** A subset of what z.uuid() takes: lower-case RFC 9562 uuids, versions 1-8 (what crypto.randomUUID makes). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** toISOString's form, a subset of the ISO 8601 times clientTimeSchema takes. */
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const BACKENDS: readonly string[] = INFERENCE_BACKENDS;
const SOURCES: readonly string[] = PREDICTION_SOURCES;
/** base64 of 1..MAX_EMBEDDING_SIZE float32 values: 4 characters per 3 bytes, padded. */
const MAX_BASE64_CHARS = 4 * Math.ceil((MAX_EMBEDDING_SIZE * 4) / 3);

/**
 * A check of `schema` that remembers the strings it took (a batch names the same labels, model, device and app version
 * hundreds of times). Only strings taken are kept, at most `capacity` at once: whatever a sender makes up costs
 * memory for a while, never more.
 */
function rememberingCheck(schema: z.ZodType<string>, capacity = 10_000): (value: unknown) => value is string {
  const taken = new Set<string>();
  return (value: unknown): value is string => {
    if (typeof value !== 'string') return false;
    if (taken.has(value)) return true;
    if (!schema.safeParse(value).success) return false;
    if (taken.size >= capacity) taken.clear();
    taken.add(value);
    return true;
  };
}
const isModelName = rememberingCheck(modelNameSchema);
const isDeviceId = rememberingCheck(deviceIdSchema);
const isAppVersion = rememberingCheck(appVersionSchema);
const isChannel = rememberingCheck(channelNameSchema);
const isLabel = rememberingCheck(labelSchema);

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** A time in toISOString's form, of a real date and time (no 31 February, no hour 24), in [2000, 2200). */
function isClientTime(value: unknown): value is string {
  if (typeof value !== 'string' || !ISO_UTC.test(value)) return false;
  const number = (from: number, digits: number) => {
    let n = 0;
    for (let i = from; i < from + digits; i++) n = n * 10 + value.charCodeAt(i) - 48;
    return n;
  };
  const year = number(0, 4);
  const month = number(5, 2);
  const day = number(8, 2);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const daysInMonth = month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
  return year >= 2000 && year < 2200 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && number(11, 2) < 24 && number(14, 2) < 60 && number(17, 2) < 60;
}

export function quickPrediction(raw: unknown): CheckedPrediction | null {
  if (!isObject(raw)) return null;
  for (const key in raw) if (!KEYS.has(key)) return null;
  const { id, model, version, backend, latencyMs, top, embedding, embeddingBase64, source, createdAt, deviceId, appVersion, channel } = raw;
  if (typeof id !== 'string' || !UUID.test(id)) return null;
  if (!isModelName(model)) return null;
  if (!Number.isSafeInteger(version) || (version as number) < 1 || (version as number) > MAX_MODEL_VERSION) return null;
  if (typeof backend !== 'string' || !BACKENDS.includes(backend)) return null;
  if (!isFiniteNumber(latencyMs) || latencyMs < 0 || latencyMs > 600_000) return null;
  if (typeof source !== 'string' || !SOURCES.includes(source)) return null;
  if (!isClientTime(createdAt)) return null;
  if (deviceId !== undefined && !isDeviceId(deviceId)) return null;
  if (appVersion !== undefined && !isAppVersion(appVersion)) return null;
  if (channel !== undefined && !isChannel(channel)) return null;

  if (!Array.isArray(top) || top.length < 1 || top.length > MAX_TOP_CLASSES) return null;
  const classes: PredictionEvent['top'] = new Array(top.length);
  for (let k = 0; k < top.length; k++) {
    const entry: unknown = top[k];
    if (!isObject(entry)) return null;
    for (const key in entry) if (key !== 'label' && key !== 'probability') return null;
    const { label, probability } = entry;
    if (!isLabel(label)) return null;
    if (!isFiniteNumber(probability) || probability < 0 || probability > 1) return null;
    classes[k] = { label, probability };
  }

  const values = embeddingBase64 === undefined ? float32Values(embedding) : embedding === undefined ? decodedEmbedding(embeddingBase64) : null;
  if (!(values instanceof Float32Array)) return null;

  const event: CheckedPrediction = {
    id,
    model,
    version: version as number,
    backend: backend as PredictionEvent['backend'],
    latencyMs,
    top: classes,
    embedding: values,
    source: source as PredictionEvent['source'],
    createdAt,
  };
  if (deviceId !== undefined) event.deviceId = deviceId;
  if (appVersion !== undefined) event.appVersion = appVersion;
  if (channel !== undefined) event.channel = channel;
  return event;
}

/**
 * [n] values, 1 <= n <= MAX_EMBEDDING_SIZE, each a finite number that is also finite as a float32, rounded to float32
 * as stored; null otherwise.
 */
function float32Values(embedding: unknown): Float32Array | null {
  if (!Array.isArray(embedding) || embedding.length < 1 || embedding.length > MAX_EMBEDDING_SIZE) return null;
  const values = new Float32Array(embedding.length);
  for (let i = 0; i < embedding.length; i++) {
    const value: unknown = embedding[i];
    if (!isFiniteNumber(value)) return null;
    values[i] = value;
    if (!Number.isFinite(values[i]!)) return null; // beyond float32's range
  }
  return values;
}

/** `embeddingBase64`'s float32 values, or what is wrong with it (the field named first). */
function decodedEmbedding(text: unknown): Float32Array | string {
  const problem = (what: string) => `embeddingBase64: ${what}`;
  if (typeof text === 'string' && text.length > MAX_BASE64_CHARS) {
    return problem(`embedding must hold at most ${MAX_EMBEDDING_SIZE} values (${MAX_BASE64_CHARS} base64 characters)`);
  }
  // Buffer.from skips what is not base64; only text that decodes and encodes back to itself is taken (a regex cost 8 µs).
  const bytes = typeof text === 'string' ? Buffer.from(text, 'base64') : null;
  if (!bytes || bytes.toString('base64') !== text) return problem("must be base64 of the embedding's float32 values, little-endian");
  if (bytes.length === 0 || bytes.length % 4 !== 0) return problem(`must hold whole float32 values (4 bytes each), got ${bytes.length} bytes`);
  const values = embeddingFromBytes(bytes);
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) return problem(`value ${i} is ${values[i]} (NaN and infinities are refused)`);
  }
  return values;
}

/**
 * The event as checked, or why it is refused (fields named first): quickPrediction, else the schema, given a base64
 * embedding decoded into the number array it describes.
 */
export function checkPrediction(raw: unknown): { event: CheckedPrediction } | { reason: string } {
  const quick = quickPrediction(raw);
  if (quick) return { event: quick };
  let event = raw;
  if (isObject(raw) && 'embeddingBase64' in raw) {
    const { embeddingBase64, ...rest } = raw;
    if ('embedding' in rest) return { reason: 'embeddingBase64: send the embedding once, as embedding or as embeddingBase64, not both' };
    const values = decodedEmbedding(embeddingBase64);
    if (typeof values === 'string') return { reason: values };
    event = { ...rest, embedding: Array.from(values) };
  }
  const parsed = predictionEventSchema.safeParse(event);
  if (!parsed.success) return { reason: formatIssues(parsed.error, 'event') };
  return { event: { ...parsed.data, embedding: Float32Array.from(parsed.data.embedding) } };
}
