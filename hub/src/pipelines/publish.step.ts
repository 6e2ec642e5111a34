/** Step 5, publish: the challenger's training run becomes the next version of the run's model (publishRun). */
import { publishRun } from '../registry/publish.service';
import * as pipelineRuns from './pipeline-run.repository';
import type { PipelineStepDefinition } from './pipeline-step';
import { runCaller } from './train.step';

export const publishStep: PipelineStepDefinition<'publish'> = {
  step: 'publish',
  async inputs({ run, outputsOf }) {
    return { runId: outputsOf('train').runId, model: run.model };
  },
  async execute({ deps, run, log, outputsOf }) {
    const published = await publishRun(deps, runCaller(run), { runId: outputsOf('train').runId, model: run.model });
    await pipelineRuns.setChallenger(deps.db, run.id, published.id);
    log(`${published.existing ? 'already published' : 'published'} as ${run.model} v${published.version}`);
    return { status: 'done', outputs: { modelVersionId: published.id, version: published.version } };
  },
};
