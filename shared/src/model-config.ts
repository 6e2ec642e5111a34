/**
 * Model architectures and their configs: what a run is asked to build, stored with the run (runs.model_config) and
 * read back by the worker that trains it. Defaults are filled by the schema; training's validateModelConfig turns
 * its errors into one message that lists the valid values.
 */
import { z } from 'zod';

export const ARCHITECTURES = ['reference-cnn', 'mobilenet'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/** MobileNet v1 width multipliers, as in the paper. */
export const MOBILENET_ALPHAS = [0.25, 0.5, 0.75, 1] as const;

const classesSchema = z.number().int().min(2, 'numClasses must be at least 2').max(1000, 'numClasses must be at most 1000');

export const referenceCnnConfigSchema = z.object({
  architecture: z.literal('reference-cnn'),
  /** [height, width, channels]; the reference CNN is for small greyscale images such as Fashion-MNIST. */
  inputShape: z.tuple([z.number().int().min(12).max(64), z.number().int().min(12).max(64), z.literal(1)]).default([28, 28, 1]),
  numClasses: classesSchema,
  filters: z.tuple([z.number().int().min(1).max(256), z.number().int().min(1).max(256)]).default([32, 64]),
  denseUnits: z.number().int().min(8).max(2048).default(128),
  /** Dropout rate before the classifier, in training only (seeded per step, so runs stay reproducible). */
  dropout: z.number().min(0).max(0.9).default(0),
});

export const mobilenetConfigSchema = z.object({
  architecture: z.literal('mobilenet'),
  inputShape: z.tuple([z.number().int().min(32).max(512), z.number().int().min(32).max(512), z.literal(3)]).default([96, 96, 3]),
  numClasses: classesSchema,
  alpha: z.union(MOBILENET_ALPHAS.map((a) => z.literal(a)) as [z.ZodLiteral<0.25>, z.ZodLiteral<0.5>, z.ZodLiteral<0.75>, z.ZodLiteral<1>], {
    error: () => `alpha must be one of: ${MOBILENET_ALPHAS.join(', ')}`,
  }).default(0.5),
  /** How many depthwise-separable blocks of MobileNet v1's 13 to use (fewer = smaller, faster). */
  blocks: z.number().int().min(1).max(13).default(13),
  /** Dropout rate before the classifier, in training only (seeded per step). */
  dropout: z.number().min(0).max(0.9).default(0),
});

export const modelConfigSchema = z.discriminatedUnion('architecture', [referenceCnnConfigSchema, mobilenetConfigSchema], {
  error: (issue) =>
    issue.code === 'invalid_union' ? `architecture must be one of: ${ARCHITECTURES.join(', ')}` : undefined,
});
export type ModelConfig = z.infer<typeof modelConfigSchema>;
export type ModelConfigInput = z.input<typeof modelConfigSchema>;
