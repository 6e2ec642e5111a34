import type { Evaluations } from '@edgeloop/shared';

/** Named metrics a sweep's chooser can rank runs by, and whether higher or lower is better. */
export const RUN_METRICS = {
  valAccuracy: 'max',
  valLoss: 'min',
  testAccuracy: 'max',
  testEce: 'min',
} as const;
export type RunMetric = keyof typeof RUN_METRICS;
export const RUN_METRIC_NAMES = Object.keys(RUN_METRICS) as RunMetric[];

interface EpochRow {
  valAccuracy: number;
  valLoss: number;
}

/** The metrics of a finished run: validation from its last epoch, test from the float32 evaluation. */
export function runMetrics(lastEpoch: EpochRow | undefined, evaluation: Evaluations | null): Partial<Record<RunMetric, number>> {
  const test = evaluation?.float32;
  return {
    ...(lastEpoch ? { valAccuracy: lastEpoch.valAccuracy, valLoss: lastEpoch.valLoss } : {}),
    ...(test ? { testAccuracy: test.accuracy, testEce: test.ece } : {}),
  };
}
