/** Hyperparameters of a training run (schema in @edgeloop/shared): validated with defaults; errors name the field and its valid values. */
import { type TrainConfig, formatIssues, trainConfigSchema } from '@edgeloop/shared';

/** Learning rate at `step` of `totalSteps`. */
export function learningRateAt(config: Pick<TrainConfig, 'learningRate' | 'learningRateSchedule'>, step: number, totalSteps: number): number {
  if (config.learningRateSchedule === 'constant') return config.learningRate;
  return config.learningRate * 0.5 * (1 + Math.cos((Math.PI * step) / totalSteps));
}

export function validateTrainConfig(input: unknown): TrainConfig {
  const parsed = trainConfigSchema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  throw new Error(`invalid training config: ${formatIssues(parsed.error)}`);
}
