/**
 * Model architectures and their configs: what a run is asked to build, stored with the run (runs.model_config) and
 * read back by the worker that trains it. Two readings of one contract: modelConfigSchema is for configs that enter
 * now and fills today's defaults; storedModelConfigSchema reads a stored row, where an absent field means what it
 * meant when the row was written. training's validateModelConfig turns modelConfigSchema's errors into one message
 * that lists the valid values.
 */
import { z } from 'zod';

export const ARCHITECTURES = ['reference-cnn', 'mobilenet'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/** MobileNet v1 width multipliers, as in the paper. */
export const MOBILENET_ALPHAS = [0.25, 0.5, 0.75, 1] as const;

const classesSchema = z.number().int().min(2, 'numClasses must be at least 2').max(1000, 'numClasses must be at most 1000');

/** Each field's values, without a default: the two readings below differ only in what an absent field means. */
const referenceCnnFields = {
  architecture: z.literal('reference-cnn'),
  /** [height, width, channels]; the reference CNN is for small greyscale images such as Fashion-MNIST. */
  inputShape: z.tuple([z.number().int().min(12).max(64), z.number().int().min(12).max(64), z.literal(1)]),
  numClasses: classesSchema,
  filters: z.tuple([z.number().int().min(1).max(256), z.number().int().min(1).max(256)]),
  denseUnits: z.number().int().min(8).max(2048),
  /** Dropout rate before the classifier, in training only (seeded per step, so runs stay reproducible). */
  dropout: z.number().min(0).max(0.9),
};

const mobilenetFields = {
  architecture: z.literal('mobilenet'),
  inputShape: z.tuple([z.number().int().min(32).max(512), z.number().int().min(32).max(512), z.literal(3)]),
  numClasses: classesSchema,
  alpha: z.union(MOBILENET_ALPHAS.map((a) => z.literal(a)) as [z.ZodLiteral<0.25>, z.ZodLiteral<0.5>, z.ZodLiteral<0.75>, z.ZodLiteral<1>], {
    error: () => `alpha must be one of: ${MOBILENET_ALPHAS.join(', ')}`,
  }),
  /** How many depthwise-separable blocks of MobileNet v1's 13 to use (fewer = smaller, faster). */
  blocks: z.number().int().min(1).max(13),
  /** Dropout rate before the classifier, in training only (seeded per step). */
  dropout: z.number().min(0).max(0.9),
};

const architectureError = (issue: { code: string }) =>
  issue.code === 'invalid_union' ? `architecture must be one of: ${ARCHITECTURES.join(', ')}` : undefined;

/** A reference CNN config as it enters: absent fields get today's defaults. */
export const referenceCnnConfigSchema = z.object({
  ...referenceCnnFields,
  inputShape: referenceCnnFields.inputShape.default([28, 28, 1]),
  filters: referenceCnnFields.filters.default([32, 64]),
  denseUnits: referenceCnnFields.denseUnits.default(128),
  dropout: referenceCnnFields.dropout.default(0),
});

/** A MobileNet config as it enters: absent fields get today's defaults. */
export const mobilenetConfigSchema = z.object({
  ...mobilenetFields,
  inputShape: mobilenetFields.inputShape.default([96, 96, 3]),
  alpha: mobilenetFields.alpha.default(0.5),
  blocks: mobilenetFields.blocks.default(13),
  dropout: mobilenetFields.dropout.default(0),
});

/** A model config as it enters (a person, the CLI, a sweep): absent fields get today's defaults. */
export const modelConfigSchema = z.discriminatedUnion('architecture', [referenceCnnConfigSchema, mobilenetConfigSchema], { error: architectureError });

/**
 * A model config as stored. The hub stores configs with every field filled, so a field is absent only from rows
 * written before it existed, and then it means what training did without it: the reference CNN had no dropout
 * (0). Fields every stored row carries stay required: a row without one was not written by the hub, and no
 * default can say what it meant.
 */
export const storedModelConfigSchema = z.discriminatedUnion(
  'architecture',
  [z.object({ ...referenceCnnFields, dropout: referenceCnnFields.dropout.default(0) }), z.object(mobilenetFields)],
  { error: architectureError },
);
export type ModelConfig = z.infer<typeof modelConfigSchema>;
export type ModelConfigInput = z.input<typeof modelConfigSchema>;
