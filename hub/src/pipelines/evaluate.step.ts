/** Step 3, evaluate: champion and challenger on the same sets (evaluateChampionChallenger). */
import { evaluateChampionChallenger } from './champion-challenger';
import type { PipelineStepDefinition } from './pipeline-step';

export const evaluateStep: PipelineStepDefinition<'evaluate'> = {
  step: 'evaluate',
  async inputs({ run, outputsOf }) {
    const dataset = outputsOf('build-dataset');
    return { championVersionId: run.championVersionId, challengerRunId: outputsOf('train').runId, baseVersionId: dataset.baseVersionId, holdout: dataset.holdout.sha256, channel: run.channel };
  },
  async execute({ deps, run, log, outputsOf }) {
    const dataset = outputsOf('build-dataset');
    const outputs = await evaluateChampionChallenger(
      deps,
      { project: run.project, championVersionId: run.championVersionId, challengerRunId: outputsOf('train').runId, baseVersionId: dataset.baseVersionId, holdoutKey: dataset.holdout.key, channel: run.channel },
      log,
    );
    return { status: 'done', outputs };
  },
};
