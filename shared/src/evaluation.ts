/**
 * Test-split evaluation of a trained model, one per weight encoding: computed by training (evaluatePredictions),
 * sent from the training threads, stored with the run (runs.evaluation) and shown by the admin.
 */
import { z } from 'zod';
import { modelFormatSchema } from './model-manifest';

const count = z.number().int().nonnegative();
/**
 * A computed metric: any finite number (zod's number refuses NaN and Infinity). No range check: loss, confidence and
 * ECE come from float32 probabilities, where a softmax can give 1.0000001 (a loss just below 0, a confidence just
 * above 1); refusing that would fail a run after hours of training, or leave its row unreadable.
 */
const metric = z.number();

export const classMetricsSchema = z.object({
  label: z.string(),
  precision: metric,
  recall: metric,
  support: count,
});
export type ClassMetrics = z.infer<typeof classMetricsSchema>;

export const evaluationSchema = z.object({
  count,
  accuracy: metric,
  loss: metric,
  /** confusion[actual][predicted] = count: a square matrix, one row and one column per class. */
  confusion: z.array(z.array(count)).refine((rows) => rows.every((row) => row.length === rows.length), 'must be a square matrix: one row and one column per class'),
  perClass: z.array(classMetricsSchema),
  /** Expected calibration error over equal-width confidence bins. */
  ece: metric,
  /** Reliability diagram: per bin, mean confidence, accuracy and count. */
  calibration: z.array(z.object({ confidence: metric, accuracy: metric, count })),
});
export type Evaluation = z.infer<typeof evaluationSchema>;

/** A run's evaluations, by weight encoding (float32 always, the quantized ones it exported). */
export const evaluationsSchema = z.partialRecord(modelFormatSchema, evaluationSchema);
export type Evaluations = z.infer<typeof evaluationsSchema>;
