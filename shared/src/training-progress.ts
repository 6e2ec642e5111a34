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
