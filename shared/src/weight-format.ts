/**
 * The weight encodings of a model version (model_versions.formats): per encoding the accuracy gate's decision, and
 * the bytes a device downloads when it was published (null when the gate refused it, with the reason).
 */
import { z } from 'zod';
import { modelFormatSchema } from './model-manifest';

export const gateDecisionSchema = z.object({
  format: modelFormatSchema,
  /** Test accuracy of this encoding, in [0, 1]. */
  accuracy: z.number().min(0).max(1),
  /** Accuracy lost against float32, percentage points. */
  drop: z.number(),
  published: z.boolean(),
  reason: z.string().optional(),
});
export type GateDecision = z.infer<typeof gateDecisionSchema>;

export const weightFormatSchema = gateDecisionSchema.extend({
  bytes: z.number().int().nonnegative().nullable(),
});
export type WeightFormat = z.infer<typeof weightFormatSchema>;

export const weightFormatsSchema = z.partialRecord(modelFormatSchema, weightFormatSchema);
export type WeightFormats = z.infer<typeof weightFormatsSchema>;
