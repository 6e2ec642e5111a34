/**
 * Hyperparameters of a training run, stored with the run (runs.train_config). Two readings of one contract:
 * trainConfigSchema is for configs that enter now (a person, the CLI, a sweep) and fills today's defaults;
 * storedTrainConfigSchema reads a stored row, where an absent field means what it meant when the row was written.
 * training's validateTrainConfig turns trainConfigSchema's errors into one message that names each field and its valid values.
 */
import { z } from 'zod';

/** The tfjs backend a run asks for; auto picks the fastest that works where it runs (training's selectBackend). */
export const BACKEND_PREFERENCES = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendPreference = (typeof BACKEND_PREFERENCES)[number];

export const LEARNING_RATE_SCHEDULES = ['cosine', 'constant'] as const;
export const AUGMENTATIONS = ['none', 'horizontal-flip'] as const;

/** Each field's values, without a default: the two readings below differ only in what an absent field means. */
const fields = {
  epochs: z.number().int().min(1, 'epochs must be at least 1').max(500, 'epochs must be at most 500'),
  batchSize: z.number().int().min(2, 'batchSize must be at least 2').max(4096, 'batchSize must be at most 4096'),
  learningRate: z.number().positive('learningRate must be > 0').max(1, 'learningRate must be at most 1'),
  /** cosine: the learning rate falls from learningRate to 0 along a half cosine over all steps; constant: it stays. */
  learningRateSchedule: z.enum(LEARNING_RATE_SCHEDULES, { error: () => `learningRateSchedule must be one of: ${LEARNING_RATE_SCHEDULES.join(', ')}` }),
  /** horizontal-flip mirrors a seeded half of each batch (for classes that look the same mirrored, e.g. clothing). */
  augmentation: z.enum(AUGMENTATIONS, { error: () => `augmentation must be one of: ${AUGMENTATIONS.join(', ')}` }),
  /** Seeds weight initialisation and shuffling: the same seed, data and backend give the same model. */
  seed: z.number().int().min(0).max(2 ** 31 - 1),
  backend: z.enum(BACKEND_PREFERENCES, { error: () => `backend must be one of: ${BACKEND_PREFERENCES.join(', ')}` }),
  /** Data-parallel replicas for single-threaded backends (one per core); 0 = one per available core. */
  replicas: z.number().int().min(0).max(64),
  /** Largest accuracy drop (percentage points) a quantized export may show against float32 and still be published. */
  maxQuantizationDrop: z.number().min(0).max(100),
  /**
   * Warm start: a succeeded run (same model config) whose float32 weights the model starts from instead of a seeded
   * initialisation, e.g. the champion when the retraining pipeline fine-tunes it on new reviewed items. null = none.
   */
  initFromRun: z.uuid('initFromRun must be the id of a succeeded run').nullable(),
  /**
   * Train items that came from people's reviews of device predictions (a manifest item with an origin) are repeated
   * so they make up about this share of the train set: a few hundred reviewed images among 60,000 would otherwise
   * barely move the model. null = every item once.
   */
  reviewedShare: z.number().min(0.01, 'reviewedShare must be at least 0.01').max(0.9, 'reviewedShare must be at most 0.9').nullable(),
  /** At most this many of the other train items, a seeded sample (a fine-tune needs a reminder of them, not all). null = all. */
  maxBaseItems: z.number().int().min(100, 'maxBaseItems must be at least 100').max(10_000_000).nullable(),
  /**
   * The class mix the model will see (one share per label, summing to 1), when it differs from the train set's: after
   * training, the logits bias is shifted by log(prior / train share) (training's prior-correction.ts), so the model
   * predicts for that mix. null = none.
   */
  classPriors: z.array(z.number().min(0, 'classPriors must be shares in [0, 1]').max(1, 'classPriors must be shares in [0, 1]')).min(2).max(1000).nullable(),
};

/** A config as it enters: absent fields get today's defaults. */
export const trainConfigSchema = z.object({
  epochs: fields.epochs.default(15),
  batchSize: fields.batchSize.default(128),
  learningRate: fields.learningRate.default(0.002),
  learningRateSchedule: fields.learningRateSchedule.default('cosine'),
  augmentation: fields.augmentation.default('none'),
  seed: fields.seed.default(42),
  backend: fields.backend.default('auto'),
  replicas: fields.replicas.default(0),
  maxQuantizationDrop: fields.maxQuantizationDrop.default(0.5),
  initFromRun: fields.initFromRun.default(null),
  reviewedShare: fields.reviewedShare.default(null),
  maxBaseItems: fields.maxBaseItems.default(null),
  classPriors: fields.classPriors.default(null),
});
export type TrainConfig = z.infer<typeof trainConfigSchema>;
export type TrainConfigInput = z.input<typeof trainConfigSchema>;

/**
 * A config as stored. The hub stores configs with every field filled, so a field is absent only from rows written
 * before it existed, and then it means what training did without it: a constant learning rate (the schedule came
 * later, and changing an old run's schedule when it is requeued or shown would rewrite its history) and no
 * augmentation. Fields every stored row carries stay required: their defaults changed over time (epochs 10 -> 15,
 * learningRate 0.001 -> 0.002), so a row without one was not written by the hub and no default can say what it meant.
 */
export const storedTrainConfigSchema = z.object({
  ...fields,
  learningRateSchedule: fields.learningRateSchedule.default('constant'),
  augmentation: fields.augmentation.default('none'),
  initFromRun: fields.initFromRun.default(null),
  reviewedShare: fields.reviewedShare.default(null),
  maxBaseItems: fields.maxBaseItems.default(null),
  classPriors: fields.classPriors.default(null),
});
