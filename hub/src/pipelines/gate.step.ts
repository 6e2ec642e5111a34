/** Step 4, gate: the verdict on the evaluation (decideGate). A "no" ends the run with the challenger a candidate. */
import { decideGate } from '@edgeloop/shared';
import { getProjectById } from '../projects/project.service';
import type { PipelineStepDefinition } from './pipeline-step';

export const gateStep: PipelineStepDefinition<'gate'> = {
  step: 'gate',
  async inputs({ deps, run, outputsOf }) {
    return { evaluation: outputsOf('evaluate'), gate: run.settings.gate, labels: (await getProjectById(deps, run.projectId)).labels };
  },
  async execute({ deps, run, log, outputsOf }) {
    const verdict = decideGate(outputsOf('evaluate'), run.settings.gate, (await getProjectById(deps, run.projectId)).labels);
    log(`${verdict.promote ? 'promote' : 'keep as a candidate'}: ${verdict.reason}`);
    return { status: 'done', outputs: verdict };
  },
  outcome: (verdict) => (verdict.promote ? null : { outcome: 'candidate', final: true }),
};
