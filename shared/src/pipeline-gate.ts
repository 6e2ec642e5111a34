/**
 * The gate between champion and challenger: promote only if the challenger beats the champion on the recent holdout
 * by a margin, significantly by McNemar's exact test, loses at most a set number of points on the base test split,
 * and no class's recall drops by more than a set number of points. Each refusal reason is a failed check.
 */
import type { GateVerdict, PipelineSettings } from './pipeline';
import type { EvaluateOutputs } from './pipeline-steps';

export function decideGate(evaluation: EvaluateOutputs, gate: PipelineSettings['gate'], labels: readonly string[]): GateVerdict {
  void evaluation;
  void gate;
  void labels;
  throw new Error('decideGate: not built yet');
}
