/**
 * What the hub publishes for each model version: a manifest naming every file with its hash, wrapped in a
 * signed envelope. Clients verify the Ed25519 signature over the payload bytes, then each file's sha256.
 */
import { z } from 'zod';
import { labelSetSchema, projectSlugSchema, sha256Schema } from './dataset';
import { preprocessingSchema } from './preprocessing-schema';

/** Weight encodings a model version is published in; float32 is the reference the others are gated against. */
export const MODEL_FORMATS = ['float32', 'float16', 'uint8'] as const;
export const modelFormatSchema = z.enum(MODEL_FORMATS, {
  error: () => `format must be one of: ${MODEL_FORMATS.join(', ')}`,
});
export type ModelFormat = z.infer<typeof modelFormatSchema>;

export const modelNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'model name must be 2-63 characters of a-z, 0-9 and -, starting with a letter or digit');

export const channelNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,31}$/, 'channel must be 1-32 characters of a-z, 0-9 and -, starting with a letter (e.g. production, staging)');

/** Largest model version number: the database stores versions as PostgreSQL integers. */
export const MAX_MODEL_VERSION = 2 ** 31 - 1;
/** A model version number (1, 2, ...): what every input, manifest and pointer that names a version takes. */
export const versionNumberSchema = z
  .number()
  .int('must be a whole model version number')
  .positive('must be a positive model version number')
  .max(MAX_MODEL_VERSION, `must be a model version number of at most ${MAX_MODEL_VERSION}`);

/** A published file, addressed relative to the manifest's directory. */
export const publishedFileSchema = z.object({
  path: z.string().min(1),
  sha256: sha256Schema,
  bytes: z.number().int().nonnegative(),
});
export type PublishedFile = z.infer<typeof publishedFileSchema>;

export const modelVariantSchema = z.object({
  format: modelFormatSchema,
  /** tfjs layers-model topology + weightsManifest; load it with tf.loadLayersModel. */
  modelJson: publishedFileSchema,
  /** Weight shards (<= 4 MiB each) in the order model.json lists them. */
  shards: z.array(publishedFileSchema),
  /** Sum of model.json and shard bytes: what a device downloads. */
  bytes: z.number().int().nonnegative(),
  /** Test-split accuracy of this encoding, in [0, 1]. */
  accuracy: z.number().min(0).max(1),
});
export type ModelVariant = z.infer<typeof modelVariantSchema>;

/** A model version's test metrics by name (testAccuracy, testEce, testLoss...): in its manifest and its registry row. */
export const modelMetricsSchema = z.record(z.string(), z.number());
export type ModelMetrics = z.infer<typeof modelMetricsSchema>;

export const modelManifestSchema = z.object({
  format: z.literal('edgeloop.model/v1'),
  project: projectSlugSchema,
  model: modelNameSchema,
  version: versionNumberSchema,
  createdAt: z.string(),
  labels: labelSetSchema,
  preprocessing: preprocessingSchema,
  architecture: z.string(),
  runId: z.string(),
  datasetVersionId: sha256Schema,
  /** Name of the penultimate layer whose output is the image embedding sent back for drift detection. */
  embeddingLayer: z.string(),
  metrics: modelMetricsSchema,
  /** The encoding devices should download first (smallest that passed the accuracy gate). */
  recommended: modelFormatSchema,
  variants: z.array(modelVariantSchema).min(1),
});
export type ModelManifest = z.infer<typeof modelManifestSchema>;

/** Where a channel points; published as a short-lived, signed pointer file. */
export const channelPointerSchema = z.object({
  format: z.literal('edgeloop.channel/v1'),
  project: projectSlugSchema,
  model: modelNameSchema,
  channel: channelNameSchema,
  version: versionNumberSchema,
  /** Manifest location relative to the pointer file's directory, and its envelope's sha256. */
  manifestPath: z.string(),
  manifestSha256: sha256Schema,
  movedAt: z.string(),
  /**
   * A staged rollout: devices whose rolloutBucket(deviceId, rolloutKey(...)) is under `share` run this version
   * instead. Absent when there is none; devices older than the field ignore it and stay on `version`.
   */
  candidate: z
    .object({
      version: versionNumberSchema,
      manifestPath: z.string(),
      manifestSha256: sha256Schema,
      share: z.number().gt(0).lt(1),
      since: z.string(),
    })
    .optional(),
});
export type ChannelPointer = z.infer<typeof channelPointerSchema>;

/** payload is the exact JSON text that was signed (so no canonicalisation is needed to verify). */
export const signedEnvelopeSchema = z.object({
  payload: z.string(),
  /** Ed25519 signature over the UTF-8 bytes of payload, base64. */
  signature: z.string(),
  keyId: z.string(),
});
export type SignedEnvelope = z.infer<typeof signedEnvelopeSchema>;

/**
 * The keys a hub publishes as trusted (registry.publicKeys): an envelope verifies with the key whose keyId it
 * names. One is active (signs new manifests and pointers); the others were rotated out but still verify what they
 * signed, until retired. publicKey is the raw 32-byte Ed25519 key, base64 (WebCrypto importKey 'raw').
 */
export const trustedKeySchema = z.object({
  keyId: z.string(),
  algorithm: z.literal('Ed25519'),
  publicKey: z.string(),
  publicKeyPem: z.string(),
  active: z.boolean(),
});
export type TrustedKey = z.infer<typeof trustedKeySchema>;
export const trustedKeySetSchema = z.object({
  keys: z.array(trustedKeySchema).min(1),
  activeKeyId: z.string(),
  /** Where published model files are fetched from. */
  cdnBaseUrl: z.string(),
});
export type TrustedKeySet = z.infer<typeof trustedKeySetSchema>;

/** Cache headers the CDN origin serves: content-hashed files never change; channel pointers do. */
export const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable';
export const POINTER_CACHE_CONTROL = 'public, max-age=30, must-revalidate';
