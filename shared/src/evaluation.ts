/**
 * Test-split evaluation of a trained model, one per weight encoding: computed by training (evaluatePredictions),
 * sent from the training threads, stored with the run (runs.evaluation) and shown by the admin.
 */
import { z } from 'zod';
import { modelFormatSchema } from './model-manifest';

const count = z.number().int().nonnegative();
const fraction = z.number().min(0).max(1);

export const classMetricsSchema = z.object({
  label: z.string(),
  precision: fraction,
  recall: fraction,
  support: count,
});
export type ClassMetrics = z.infer<typeof classMetricsSchema>;

export const evaluationSchema = z.object({
  count,
  accuracy: fraction,
  loss: z.number().nonnegative(),
  /** confusion[actual][predicted] = count */
  confusion: z.array(z.array(count)),
  perClass: z.array(classMetricsSchema),
  /** Expected calibration error over equal-width confidence bins. */
  ece: z.number().nonnegative(),
  /** Reliability diagram: per bin, mean confidence, accuracy and count. */
  calibration: z.array(z.object({ confidence: fraction, accuracy: fraction, count })),
});
export type Evaluation = z.infer<typeof evaluationSchema>;

/** A run's evaluations, by weight encoding (float32 always, the quantized ones it exported). */
export const evaluationsSchema = z.partialRecord(modelFormatSchema, evaluationSchema);
export type Evaluations = z.infer<typeof evaluationsSchema>;
