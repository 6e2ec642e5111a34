/**
 * Where a running training is: sent by the training threads each step, stored with the run (runs.progress) about
 * once a second, and shown by the admin and the CLI as a progress bar. Display only: nothing decides on it.
 */
import { z } from 'zod';

const position = z.number().int().nonnegative();

export const trainingProgressSchema = z.object({
  /** 1-based epoch of `epochs`. */
  epoch: position,
  epochs: position,
  /** Steps done in this epoch, of `steps`. */
  step: position,
  steps: position,
  /** Mean training loss over the epoch so far. */
  loss: z.number(),
  imagesPerSecond: z.number(),
});
export type TrainingProgress = z.infer<typeof trainingProgressSchema>;

/** JSON has no NaN or Infinity: JSON.stringify writes them as null, which reads back as NaN. */
const storedNumber = z
  .number()
  .nullable()
  .transform((value) => value ?? Number.NaN);

/**
 * Progress as stored: a diverged loss (NaN) or a speed measured over no time (Infinity) was written as null; it reads
 * back as NaN, so the bar of such a run still shows where it is.
 */
export const storedTrainingProgressSchema = trainingProgressSchema.extend({ loss: storedNumber, imagesPerSecond: storedNumber });

/**
 * The worker loading a run's dataset version before training: images fetched and decoded (or read from its local
 * cache of decoded pixels) of all the version's images. Written from the first second, so a run that decodes 70,000
 * images shows where it is instead of an empty bar.
 */
export const loadingProgressSchema = z.object({
  done: position,
  total: position,
  /** True when the pixels came from the worker's local cache (done is total at once). */
  fromCache: z.boolean(),
  /** Seconds the loading took, once done; null while it goes on. */
  seconds: z.number().nonnegative().nullable(),
});
export type LoadingProgress = z.infer<typeof loadingProgressSchema>;

/**
 * What a run's progress holds (runs.progress): its loading, then its training (null until the first step). Both stay,
 * so the admin shows the loading as done, with its count and time, while the epochs go.
 */
export const runProgressSchema = z.object({ loading: loadingProgressSchema.nullable(), training: trainingProgressSchema.nullable() });
export type RunProgress = z.infer<typeof runProgressSchema>;

/** Run progress as stored: rows written before the loading phase hold a bare training progress. */
export const storedRunProgressSchema = z.union([
  z.object({ loading: loadingProgressSchema.nullable(), training: storedTrainingProgressSchema.nullable() }),
  storedTrainingProgressSchema.transform((training): RunProgress => ({ loading: null, training })),
]);
