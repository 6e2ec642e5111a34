/**
 * Step 2, train: a training run on the new dataset version with the champion run's model config. With a warm start
 * (the default) it fine-tunes the champion: its weights, a few epochs at a lower constant learning rate, the reviewed
 * items repeated to a share of the train set and the base items sampled down (the settings' training section); and,
 * with priorCorrection, trained for the class mix the monitor estimates on the champion's stream. Without, it trains
 * from scratch with the champion's train config. Then it waits, looking every few seconds, until the run ends; a
 * failed or cancelled run fails the step with the run's error.
 */
import type { TrainConfig } from '@edgeloop/shared';
import type { Caller, HubDeps } from '../deps';
import * as models from '../registry/model-version.repository';
import type { Run } from '../training/run.repository';
import { createRun, requireRun } from '../training/run.service';
import type { PipelineRunView, PipelineStepDefinition, StepContext } from './pipeline-step';
import { streamPriors } from './stream-priors';

/** How often the step looks at its training run. */
export const TRAIN_POLL_SECONDS = 3;

/** The steps act for whoever started the run: rows they make name them. */
export const runCaller = (run: PipelineRunView): Caller => ({ tokenId: null, name: run.createdBy, role: 'engineer', projects: null });

async function championOf(deps: HubDeps, run: PipelineRunView) {
  const version = await models.findVersionById(deps.db, run.championVersionId);
  if (!version) throw new Error(`the champion version ${run.championVersionId} no longer exists`);
  return { version: version.version, run: await requireRun(deps, version.runId) };
}

/** The challenger's train config: the champion's, or a fine-tune of the champion (see the file's comment). */
async function challengerTrainConfig(ctx: Pick<StepContext, 'deps' | 'run' | 'log'>, champion: { version: number; run: Run }): Promise<TrainConfig> {
  const training = ctx.run.settings.training;
  if (!training.warmStart) return champion.run.trainConfig;
  let classPriors: number[] | null = null;
  if (training.priorCorrection) {
    const estimate = await streamPriors(ctx.deps, { projectId: ctx.run.projectId, model: ctx.run.model, version: champion.version, channel: ctx.run.channel });
    if (estimate) classPriors = estimate.priors.map((q) => Number(q.toFixed(4)));
    else ctx.log(`no class-mix estimate on ${ctx.run.model} v${champion.version} ${ctx.run.channel} yet: trained for the train set's mix`);
  }
  return {
    ...champion.run.trainConfig,
    epochs: training.epochs,
    learningRate: training.learningRate,
    learningRateSchedule: 'constant',
    reviewedShare: training.reviewedShare,
    maxBaseItems: training.maxBaseItems,
    initFromRun: champion.run.id,
    classPriors: classPriors && renormalised(classPriors),
  };
}

/** Shares rounded to 4 places, the largest adjusted so they sum to 1 exactly as the run's config check wants. */
function renormalised(shares: number[]): number[] {
  const largest = shares.indexOf(Math.max(...shares));
  const rest = shares.reduce((sum, q, c) => (c === largest ? sum : sum + q), 0);
  return shares.map((q, c) => (c === largest ? Number((1 - rest).toFixed(4)) : q));
}

export const trainStep: PipelineStepDefinition<'train'> = {
  step: 'train',
  async inputs(ctx) {
    const champion = await championOf(ctx.deps, ctx.run);
    return { datasetVersionId: ctx.outputsOf('build-dataset').datasetVersionId, model: champion.run.modelConfig, train: await challengerTrainConfig(ctx, champion) };
  },
  async execute({ deps, run, log, outputsOf }, previous) {
    const warmStart = run.settings.training.warmStart;
    if (!previous?.runId) {
      const champion = await championOf(deps, run);
      const { datasetVersionId } = outputsOf('build-dataset');
      const train = await challengerTrainConfig({ deps, run, log }, champion);
      const created = await createRun(deps, runCaller(run), { project: run.project, datasetVersion: datasetVersionId, model: { ...champion.run.modelConfig }, train: { ...train } });
      const how = warmStart
        ? `fine-tuning the champion (run ${champion.run.id}): ${train.epochs} epochs at ${train.learningRate}, reviewed items at ${train.reviewedShare} of the train set${train.classPriors ? ', for the class mix the monitor estimates' : ''}`
        : 'from scratch with the champion\'s config';
      log(`training run ${created.id} queued on ${datasetVersionId.slice(0, 12)}, ${how}`);
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
