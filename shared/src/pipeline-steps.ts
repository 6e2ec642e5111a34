/**
 * What each pipeline step records as its outputs (pipeline_steps.outputs, jsonb) and what the admin draws from them.
 * A later step reads an earlier one's outputs through these schemas; a skipped step carries the outputs of the
 * step it reused.
 */
import { z } from 'zod';
import { labelSchema, sha256Schema } from './dataset';
import { gateVerdictSchema } from './pipeline';

const count = z.number().int().min(0);

export const buildDatasetOutputsSchema = z.object({
  /** The champion's training dataset version the new one extends. */
  baseVersionId: z.string(),
  /** The new version: the base + accepted reviewed items with images (not the holdout), split by hash. */
  datasetVersionId: z.string(),
  /** Reviewed items added to it, in all and per accepting rule. */
  added: count,
  addedByRule: z.record(z.string(), count),
  /** The newest accepted reviewed items, kept out of training: a JSON list of {sha256, label} in the object store. */
  holdout: z.object({ key: z.string(), items: count, sha256: z.string() }),
});
export type BuildDatasetOutputs = z.infer<typeof buildDatasetOutputsSchema>;

/** The holdout list in the object store (at outputs.holdout.key): reviewed items with images training never sees. */
export const holdoutItemsSchema = z.array(z.object({ sha256: sha256Schema, label: labelSchema }));
export type HoldoutItems = z.infer<typeof holdoutItemsSchema>;

export const trainOutputsSchema = z.object({
  /** The training run (runs table) that made the challenger. */
  runId: z.uuid(),
  /** Whether it started from the champion's weights. */
  warmStart: z.boolean(),
});
export type TrainOutputs = z.infer<typeof trainOutputsSchema>;

/** One model on one evaluation set, with the encoding devices run. Matrices are [true label][predicted label]. */
export const setMetricsSchema = z.object({
  accuracy: z.number().min(0).max(1),
  perClassRecall: z.array(z.number().min(0).max(1).nullable()),
  confusion: z.array(z.array(z.number().min(0))),
});
export type SetMetrics = z.infer<typeof setMetricsSchema>;

export const EVALUATION_SETS = ['base-test', 'holdout', 'reweighted-test'] as const;
export type EvaluationSet = (typeof EVALUATION_SETS)[number];

export const evaluationSetResultSchema = z.object({
  set: z.enum(EVALUATION_SETS),
  items: count,
  champion: setMetricsSchema,
  challenger: setMetricsSchema,
  /** Paired outcomes for McNemar: items only the champion got right, and only the challenger. */
  championOnly: count,
  challengerOnly: count,
  /**
   * The same paired counts within each true class [K] (plain item counts, also on the reweighted set): the gate's
   * per-class recall check tests a drop on them. Absent in outputs recorded before it was kept.
   */
  perClassPaired: z.array(z.object({ championOnly: count, challengerOnly: count })).optional(),
  /** reweighted-test only: the class priors the test split was reweighted to (the champion stream's EM estimate). */
  priors: z.array(z.number()).optional(),
});
export type EvaluationSetResult = z.infer<typeof evaluationSetResultSchema>;

export const evaluateOutputsSchema = z.object({
  encoding: z.string(),
  sets: z.array(evaluationSetResultSchema),
  /** Model sizes in bytes with that encoding. */
  championBytes: count,
  challengerBytes: count,
});
export type EvaluateOutputs = z.infer<typeof evaluateOutputsSchema>;

export const gateOutputsSchema = gateVerdictSchema;
export type GateOutputs = z.infer<typeof gateOutputsSchema>;

export const publishOutputsSchema = z.object({ modelVersionId: z.uuid(), version: z.number().int().min(1) });
export type PublishOutputs = z.infer<typeof publishOutputsSchema>;

export const rolloutOutputsSchema = z.object({
  version: z.number().int().min(1),
  share: z.number(),
  /** Where the canary stands: running, then promoted to every device or rolled back. */
  state: z.enum(['canary', 'promoted', 'rolled-back']),
  reason: z.string().nullable(),
  canaryEvents: count,
});
export type RolloutOutputs = z.infer<typeof rolloutOutputsSchema>;

export const PIPELINE_STEP_OUTPUT_SCHEMAS = {
  'build-dataset': buildDatasetOutputsSchema,
  train: trainOutputsSchema,
  evaluate: evaluateOutputsSchema,
  gate: gateOutputsSchema,
  publish: publishOutputsSchema,
  rollout: rolloutOutputsSchema,
} as const;
export type PipelineStepOutputs = { [S in keyof typeof PIPELINE_STEP_OUTPUT_SCHEMAS]: z.infer<(typeof PIPELINE_STEP_OUTPUT_SCHEMAS)[S]> };
