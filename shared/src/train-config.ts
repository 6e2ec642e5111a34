/**
 * Hyperparameters of a training run, stored with the run (runs.train_config). Defaults are filled by the schema;
 * training's validateTrainConfig turns its errors into one message that names each field and its valid values.
 */
import { z } from 'zod';

/** The tfjs backend a run asks for; auto picks the fastest that works where it runs (training's selectBackend). */
export const BACKEND_PREFERENCES = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendPreference = (typeof BACKEND_PREFERENCES)[number];

export const LEARNING_RATE_SCHEDULES = ['cosine', 'constant'] as const;
export const AUGMENTATIONS = ['none', 'horizontal-flip'] as const;

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
