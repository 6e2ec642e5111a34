/** The product's pipeline steps, by name: what the `pipeline.step` worker runs. */
import { buildDatasetStep } from './build-dataset.step';
import { evaluateStep } from './evaluate.step';
import { gateStep } from './gate.step';
import type { StepRegistry } from './pipeline-step.job';
import { publishStep } from './publish.step';
import { rolloutStep } from './rollout.step';
import { trainStep } from './train.step';

export const PIPELINE_STEP_REGISTRY: StepRegistry = {
  'build-dataset': buildDatasetStep,
  train: trainStep,
  evaluate: evaluateStep,
  gate: gateStep,
  publish: publishStep,
  rollout: rolloutStep,
};
