/** Hyperparameters of a training run: validated with defaults; errors name the field and its valid values. */
import { z } from 'zod';
import { BACKEND_PREFERENCES } from '../backends/select-backend';
import { formatIssues } from '../models/model-config';

export const LEARNING_RATE_SCHEDULES = ['cosine', 'constant'] as const;
export const AUGMENTATIONS = ['none', 'horizontal-flip'] as const;

/** Learning rate at `step` of `totalSteps`. */
export function learningRateAt(config: Pick<TrainConfig, 'learningRate' | 'learningRateSchedule'>, step: number, totalSteps: number): number {
  if (config.learningRateSchedule === 'constant') return config.learningRate;
  return config.learningRate * 0.5 * (1 + Math.cos((Math.PI * step) / totalSteps));
}

export const trainConfigSchema = z.object({
  epochs: z.number().int().min(1, 'epochs must be at least 1').max(500, 'epochs must be at most 500').default(15),
  batchSize: z.number().int().min(2, 'batchSize must be at least 2').max(4096, 'batchSize must be at most 4096').default(128),
  learningRate: z.number().positive('learningRate must be > 0').max(1, 'learningRate must be at most 1').default(0.002),
  /** cosine: the learning rate falls from learningRate to 0 along a half cosine over all steps; constant: it stays. */
  learningRateSchedule: z.enum(LEARNING_RATE_SCHEDULES, { error: () => `learningRateSchedule must be one of: ${LEARNING_RATE_SCHEDULES.join(', ')}` }).default('cosine'),
  /** horizontal-flip mirrors a seeded half of each batch (for classes that look the same mirrored, e.g. clothing). */
  augmentation: z.enum(AUGMENTATIONS, { error: () => `augmentation must be one of: ${AUGMENTATIONS.join(', ')}` }).default('none'),
  /** Seeds weight initialisation and shuffling: the same seed, data and backend give the same model. */
  seed: z.number().int().min(0).max(2 ** 31 - 1).default(42),
  backend: z.enum(BACKEND_PREFERENCES, { error: () => `backend must be one of: ${BACKEND_PREFERENCES.join(', ')}` }).default('auto'),
  /** Data-parallel replicas for single-threaded backends (one per core); 0 = one per available core. */
  replicas: z.number().int().min(0).max(64).default(0),
  /** Largest accuracy drop (percentage points) a quantized export may show against float32 and still be published. */
  maxQuantizationDrop: z.number().min(0).max(100).default(0.5),
});
export type TrainConfig = z.infer<typeof trainConfigSchema>;
export type TrainConfigInput = z.input<typeof trainConfigSchema>;

export function validateTrainConfig(input: unknown): TrainConfig {
  const parsed = trainConfigSchema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  throw new Error(`invalid training config: ${formatIssues(parsed.error)}`);
}
