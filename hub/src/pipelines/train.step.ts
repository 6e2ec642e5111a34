/**
 * Step 2, train: a training run on the new dataset version with the champion run's model and train configs, starting
 * from the champion's weights when the settings ask for a warm start; then waits, looking every few seconds, until the
 * run ends. A failed or cancelled run fails the step with the run's error.
 */
import type { Caller, HubDeps } from '../deps';
import * as models from '../registry/model-version.repository';
import { createRun, requireRun } from '../training/run.service';
import type { PipelineRunView, PipelineStepDefinition } from './pipeline-step';

/** How often the step looks at its training run. */
export const TRAIN_POLL_SECONDS = 3;

/** The steps act for whoever started the run: rows they make name them. */
export const runCaller = (run: PipelineRunView): Caller => ({ tokenId: null, name: run.createdBy, role: 'engineer', projects: null });

async function championRun(deps: HubDeps, run: PipelineRunView) {
  const champion = await models.findVersionById(deps.db, run.championVersionId);
  if (!champion) throw new Error(`the champion version ${run.championVersionId} no longer exists`);
  return requireRun(deps, champion.runId);
}

export const trainStep: PipelineStepDefinition<'train'> = {
  step: 'train',
  async inputs(ctx) {
    const champion = await championRun(ctx.deps, ctx.run);
    return {
      datasetVersionId: ctx.outputsOf('build-dataset').datasetVersionId,
      model: champion.modelConfig,
      train: champion.trainConfig,
      warmStartFrom: ctx.run.settings.training.warmStart ? champion.id : null,
    };
  },
  async execute({ deps, run, log, outputsOf }, previous) {
    const warmStart = run.settings.training.warmStart;
    if (!previous?.runId) {
      const champion = await championRun(deps, run);
      const { datasetVersionId } = outputsOf('build-dataset');
      const created = await createRun(deps, runCaller(run), {
        project: run.project,
        datasetVersion: datasetVersionId,
        model: { ...champion.modelConfig },
        train: { ...champion.trainConfig, initFromRun: warmStart ? champion.id : null },
      });
      log(`training run ${created.id} queued on ${datasetVersionId.slice(0, 12)}${warmStart ? `, starting from the champion's weights (run ${champion.id})` : ''}`);
      return { status: 'wait', afterSeconds: TRAIN_POLL_SECONDS, outputs: { runId: created.id, warmStart } };
    }
    const training = await requireRun(deps, previous.runId);
    if (training.status === 'succeeded') {
      log(`training run ${training.id} succeeded`);
      return { status: 'done', outputs: { runId: training.id, warmStart } };
    }
    if (training.status === 'failed' || training.status === 'cancelled') throw new Error(`training run ${training.id} ${training.status}: ${training.error ?? 'no error recorded'}`);
    return { status: 'wait', afterSeconds: TRAIN_POLL_SECONDS };
  },
};
