import { z } from 'zod';
import { isStorableText } from './text';

export const SPLITS = ['train', 'val', 'test'] as const;
export const splitSchema = z.enum(SPLITS, { error: () => `split must be one of: ${SPLITS.join(', ')}` });
export type Split = z.infer<typeof splitSchema>;

export const ITEM_SOURCES = ['folder', 'idx', 'upload', 'correction', 'review'] as const;
export type ItemSource = (typeof ITEM_SOURCES)[number];

/** Image types the hub accepts from uploads; ingest re-encodes other inputs to PNG. */
export const IMAGE_CONTENT_TYPES = ['image/png', 'image/jpeg', 'image/webp'] as const;
export const imageContentTypeSchema = z.enum(IMAGE_CONTENT_TYPES, {
  error: () => `contentType must be one of: ${IMAGE_CONTENT_TYPES.join(', ')}`,
});
export type ImageContentType = z.infer<typeof imageContentTypeSchema>;

/** Largest single image upload, bytes. */
export const MAX_IMAGE_BYTES = 10 * 1024 * 1024;
/** MAX_IMAGE_BYTES as base64 (4 characters per 3 bytes, padded): the longest image a JSON input carries. */
export const MAX_IMAGE_BASE64_CHARS = Math.ceil(MAX_IMAGE_BYTES / 3) * 4;

/** Largest image a project accepts by default (width x height), checked from the header before any decoding. */
export const DEFAULT_MAX_IMAGE_PIXELS = 4096 * 4096;
/** The most a project may set maxImagePixels to: a decoded 8192 x 8192 RGBA image is 256 MiB. */
export const MAX_IMAGE_PIXELS_CAP = 8192 * 8192;
export const maxImagePixelsSchema = z
  .number()
  .int('maxImagePixels must be an integer')
  .min(64 * 64, 'maxImagePixels must be at least 4096 (64 x 64)')
  .max(MAX_IMAGE_PIXELS_CAP, `maxImagePixels must be at most ${MAX_IMAGE_PIXELS_CAP} (8192 x 8192)`);

export const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'sha256 must be 64 lowercase hex characters');

export const projectSlugSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'slug must be 2-63 characters of a-z, 0-9 and -, starting with a letter or digit');

export const labelSchema = z
  .string()
  .min(1, 'label must not be empty')
  .max(64, 'label must be at most 64 characters')
  .regex(/^[^\s/\\][^/\\]*$/, 'label must not start with whitespace or contain / or \\')
  .refine(isStorableText, 'label must not contain NUL (\\u0000) or lone surrogate characters');

export const labelSetSchema = z
  .array(labelSchema)
  .min(2, 'labels must name at least 2 classes')
  .max(1000, 'labels may name at most 1000 classes')
  .refine((labels) => new Set(labels).size === labels.length, 'labels must be unique');

/**
 * A project's label set as stored (jsonb). It was checked by labelSetSchema when written; it is read back with this
 * lenient schema so that a rule added later never makes an existing project unreadable.
 */
export const projectLabelsSchema = z.array(z.string());

/** counts[split][label] = number of items: a dataset version's class mix per split (stored as jsonb). */
export const splitLabelCountsSchema = z.record(z.string(), z.record(z.string(), z.number()));
export type SplitLabelCounts = z.infer<typeof splitLabelCountsSchema>;

/** One entry of an immutable dataset version. Sorted by sha256 in the manifest. */
export const manifestItemSchema = z.object({
  sha256: sha256Schema,
  label: labelSchema,
  split: splitSchema,
  /**
   * For an item that came from a device's reviewed prediction: the prediction and the rule that accepted it
   * (shared ACCEPTANCE_RULES). Absent for imported and uploaded items, so their versions' ids do not change.
   */
  origin: z.object({ predictionId: z.uuid().nullable(), acceptedBy: z.enum(['person', 'agreement', 'trusted-labeler']) }).optional(),
});
export type ManifestItem = z.infer<typeof manifestItemSchema>;

/**
 * The content of a dataset version. Its canonical JSON (keys in this order, items sorted by sha256)
 * is hashed with sha256; that hash is the version id.
 */
export const datasetManifestSchema = z.object({
  format: z.literal('edgeloop.dataset/v1'),
  project: projectSlugSchema,
  labels: labelSetSchema,
  items: z.array(manifestItemSchema),
});
export type DatasetManifest = z.infer<typeof datasetManifestSchema>;

/** Where an item's bytes live in the object store: content-addressed, never overwritten. */
export function objectKeyForSha256(sha256: string): string {
  return `objects/sha256/${sha256.slice(0, 2)}/${sha256}`;
}
