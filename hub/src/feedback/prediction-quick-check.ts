/**
 * The common case of checking a prediction event, without zod's per-value overhead: an event that is certainly valid
 * comes back as predictionEventSchema would parse it; anything else (a problem, or just something unusual: an unknown
 * key, an upper-case uuid) gives null and predictionEventSchema decides, with its messages. So it may only be
 * stricter than the schema, never looser (prediction-quick-check.test.ts checks both on valid and broken events).
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
  clientTimeSchema,
  deviceIdSchema,
  labelSchema,
  modelNameSchema,
} from '@edgeloop/shared';

const KEYS = new Set(['id', 'model', 'version', 'backend', 'latencyMs', 'top', 'embedding', 'source', 'createdAt', 'deviceId', 'appVersion', 'channel']);
/** A subset of what z.uuid() takes: lower-case RFC 9562 uuids, versions 1-8 (what crypto.randomUUID makes). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const BACKENDS: readonly string[] = INFERENCE_BACKENDS;
const SOURCES: readonly string[] = PREDICTION_SOURCES;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

export function quickPrediction(raw: unknown): PredictionEvent | null {
  if (!isObject(raw)) return null;
  for (const key in raw) if (!KEYS.has(key)) return null;
  const { id, model, version, backend, latencyMs, top, embedding, source, createdAt, deviceId, appVersion, channel } = raw;
  if (typeof id !== 'string' || !UUID.test(id)) return null;
  if (typeof model !== 'string' || !modelNameSchema.safeParse(model).success) return null;
  if (!Number.isSafeInteger(version) || (version as number) < 1 || (version as number) > MAX_MODEL_VERSION) return null;
  if (typeof backend !== 'string' || !BACKENDS.includes(backend)) return null;
  if (!isFiniteNumber(latencyMs) || latencyMs < 0 || latencyMs > 600_000) return null;
  if (typeof source !== 'string' || !SOURCES.includes(source)) return null;
  if (typeof createdAt !== 'string' || !clientTimeSchema.safeParse(createdAt).success) return null;
  if (deviceId !== undefined && (typeof deviceId !== 'string' || !deviceIdSchema.safeParse(deviceId).success)) return null;
  if (appVersion !== undefined && (typeof appVersion !== 'string' || !appVersionSchema.safeParse(appVersion).success)) return null;
  if (channel !== undefined && (typeof channel !== 'string' || !channelNameSchema.safeParse(channel).success)) return null;

  if (!Array.isArray(top) || top.length < 1 || top.length > MAX_TOP_CLASSES) return null;
  const classes: PredictionEvent['top'] = new Array(top.length);
  for (let k = 0; k < top.length; k++) {
    const entry: unknown = top[k];
    if (!isObject(entry)) return null;
    for (const key in entry) if (key !== 'label' && key !== 'probability') return null;
    const { label, probability } = entry;
    if (typeof label !== 'string' || !labelSchema.safeParse(label).success) return null;
    if (!isFiniteNumber(probability) || probability < 0 || probability > 1) return null;
    classes[k] = { label, probability };
  }

  // [n] values, each a finite number that is also a finite float32, stored rounded to float32.
  if (!Array.isArray(embedding) || embedding.length < 1 || embedding.length > MAX_EMBEDDING_SIZE) return null;
  const values = new Array<number>(embedding.length);
  for (let i = 0; i < embedding.length; i++) {
    const value: unknown = embedding[i];
    if (!isFiniteNumber(value)) return null;
    const rounded = Math.fround(value);
    if (!Number.isFinite(rounded)) return null;
    values[i] = rounded;
  }

  return {
    id,
    model,
    version: version as number,
    backend: backend as PredictionEvent['backend'],
    latencyMs,
    top: classes,
    embedding: values,
    source: source as PredictionEvent['source'],
    createdAt,
    ...(deviceId === undefined ? {} : { deviceId: deviceId as string }),
    ...(appVersion === undefined ? {} : { appVersion: appVersion as string }),
    ...(channel === undefined ? {} : { channel: channel as string }),
  };
}
