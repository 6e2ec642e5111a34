/**
 * Pipeline runs: start one (for a model's channel, challenging the version it points to now), list, inspect, resume
 * from a failed step, cancel. At most one run of a (model, channel) runs at a time. The steps run as queue jobs
 * (pipeline-step.job.ts).
 */
import {
  type BuildDatasetOutputs,
  type EvaluateOutputs,
  type GateVerdict,
  PIPELINE_STEPS,
  type PipelineOutcome,
  type PipelineRunStatus,
  type PipelineSettings,
  type PipelineStep,
  type PipelineStepStatus,
  type PipelineTrigger,
  type PublishOutputs,
  type RolloutOutputs,
  type TrainOutputs,
} from '@edgeloop/shared';
import type { Caller, HubDeps } from '../deps';
import { HubError, badRequest, conflict, notFound } from '../errors';
import type { Project } from '../projects/project.repository';
import { getProject, getProjectById } from '../projects/project.service';
import * as channels from '../registry/channel.repository';
import * as models from '../registry/model-version.repository';
import { cancelRun as cancelTrainingRun } from '../training/run.service';
import { newJobId, sendStepJob } from './pipeline-step.job';
import { finishedOutputs } from './pipeline-run-view';
import { pipelineSettingsOf } from './pipeline-settings.service';
import * as pipelineRuns from './pipeline-run.repository';
import type { PipelineRun, PipelineStepRow } from './pipeline-run.repository';

export interface StartPipelineInput {
  project: string;
  /** The registered model; default: the settings' model, or the project's only one. */
  model?: string;
  /** Default: the settings' channel. */
  channel?: string;
  trigger: PipelineTrigger;
  triggerDetail: string;
}

export interface PipelineStepView {
  step: PipelineStep;
  status: PipelineStepStatus;
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
  /** finishedAt - startedAt, or until now while it runs; null before it started. */
  seconds: number | null;
  /** A skipped step: the run whose step (same inputs) it reused the outputs of. */
  reusedFromRunId: string | null;
  inputsHash: string | null;
  /** Why it failed or is retrying, in words (internal details are in the step's log under the id it names). */
  error: string | null;
}

export interface PipelineRunSummary {
  id: string;
  project: string;
  model: string;
  channel: string;
  trigger: PipelineTrigger;
  triggerDetail: string;
  status: PipelineRunStatus;
  outcome: PipelineOutcome | null;
  /** Why it ended so: the gate's verdict, the failed step's error, the rollout's decision; null while running. */
  reason: string | null;
  championVersion: number | null;
  challengerVersion: number | null;
  /** The step running or next; null once the run ended. */
  currentStep: PipelineStep | null;
  steps: { step: PipelineStep; status: PipelineStepStatus }[];
  createdBy: string;
  createdAt: string;
  finishedAt: string | null;
}

export interface PipelineRunDetail extends PipelineRunSummary {
  settings: PipelineSettings;
  steps: (PipelineStepView & { logs: { at: string; line: string }[] })[];
  /** Each step's outputs once it has them (partial ones of a waiting step are not shown). */
  dataset: BuildDatasetOutputs | null;
  training: TrainOutputs | null;
  evaluation: EvaluateOutputs | null;
  verdict: GateVerdict | null;
  published: PublishOutputs | null;
  rollout: RolloutOutputs | null;
  /** The project's labels, in the order of the evaluation's per-class arrays and confusion matrices. */
  labels: string[];
}

const who = (caller: Caller) => caller.name;

/** The model a run of the project retrains: named, the settings', or the project's only one. */
export async function resolveModel(deps: HubDeps, project: Project, named: string | null): Promise<models.RegisteredModel> {
  const all = await models.listModels(deps.db, project.id);
  const names = all.map((m) => m.name).sort();
  if (all.length === 0) throw badRequest(`model: project "${project.slug}" has no registered model yet; publish one first (edgeloop publish ${project.slug} --model <name>)`);
  if (named) {
    const found = all.find((m) => m.name === named);
    if (!found) throw notFound(`model: project "${project.slug}" has no model "${named}"; its models: ${names.join(', ')}`);
    return found;
  }
  if (all.length > 1) throw badRequest(`model: project "${project.slug}" has several models (${names.join(', ')}); name one, or set it in the pipeline settings`);
  return all[0]!;
}

/**
 * Starts a run: resolves the model and channel, takes the version the channel points to now as the champion,
 * snapshots the settings, creates the six steps and queues the first. CONFLICT while a run of that model's channel
 * is running.
 */
export async function startPipelineRun(deps: HubDeps, caller: Caller, input: StartPipelineInput): Promise<PipelineRunSummary> {
  const project = await getProject(deps, input.project);
  const settings = await pipelineSettingsOf(deps, project.id);
  const model = await resolveModel(deps, project, input.model ?? settings.model);
  const channel = input.channel ?? settings.channel;
  const pointer = await channels.find(deps.db, model.id, channel);
  if (!pointer) {
    const known = (await channels.listOfModel(deps.db, model.id)).map((c) => c.name).sort();
    throw badRequest(`channel: "${channel}" of model "${model.name}" points to no version, so there is no champion to challenge; promote a version first${known.length ? ` (channels with a version: ${known.join(', ')})` : ''}`);
  }
  const champion = (await models.findVersionById(deps.db, pointer.modelVersionId))!;
  const jobId = newJobId();
  const run = await pipelineRuns.inPipelineLock(deps.db, model.id, channel, async (tx) => {
    const running = await pipelineRuns.runningOf(tx, model.id, channel);
    if (running) {
      throw conflict(`pipeline run ${running.id} of ${model.name}/${channel} is still running (started ${running.createdAt.toISOString()} by ${running.trigger}: ${running.triggerDetail}); wait for it or cancel it`);
    }
    return pipelineRuns.createWithSteps(
      tx,
      {
        projectId: project.id,
        modelId: model.id,
        channel,
        trigger: input.trigger,
        triggerDetail: input.triggerDetail.slice(0, 500),
        championVersionId: champion.id,
        config: { settings: { ...settings, model: model.name, channel }, champion: { version: champion.version, runId: champion.runId } },
        createdBy: who(caller),
      },
      PIPELINE_STEPS,
      jobId,
      deps.now(),
    );
  });
  await sendStepJob(deps, { runId: run.id, step: PIPELINE_STEPS[0] }, jobId);
  deps.log.info(`pipeline run ${run.id} of ${project.slug}/${model.name}/${channel} started (${input.trigger}: ${input.triggerDetail}) by ${who(caller)}; champion v${champion.version}`);
  return (await summaries(deps, project, [run]))[0]!;
}

/** The slug of the project a run belongs to, or null when there is no such run (any string is safe to pass). */
export function projectOfPipelineRun(deps: HubDeps, runId: string): Promise<string | null> {
  return pipelineRuns.projectSlugOf(deps.db, runId);
}

async function requirePipelineRun(deps: HubDeps, runId: string): Promise<PipelineRun> {
  const run = await pipelineRuns.find(deps.db, runId);
  if (!run) throw notFound(`no pipeline run ${runId}`);
  return run;
}

export async function listPipelineRuns(deps: HubDeps, input: { project: string; limit: number; offset: number }): Promise<{ runs: PipelineRunSummary[]; more: boolean }> {
  const project = await getProject(deps, input.project);
  const rows = await pipelineRuns.listOfProject(deps.db, { projectId: project.id, limit: input.limit + 1, offset: input.offset });
  return { runs: await summaries(deps, project, rows.slice(0, input.limit)), more: rows.length > input.limit };
}

export async function getPipelineRun(deps: HubDeps, input: { runId: string; logLines: number }): Promise<PipelineRunDetail> {
  const run = await requirePipelineRun(deps, input.runId);
  const project = await getProjectById(deps, run.projectId);
  const [summary] = await summaries(deps, project, [run]);
  const steps = await pipelineRuns.stepsOf(deps.db, [run.id]);
  return {
    ...summary!,
    settings: run.config.settings,
    steps: await Promise.all(
      steps.map(async (s) => ({
        ...stepView(deps, s),
        logs: (await pipelineRuns.recentLogs(deps.db, run.id, s.step, input.logLines)).map((l) => ({ at: l.at.toISOString(), line: l.line })),
      })),
    ),
    dataset: finishedOutputs(steps, 'build-dataset'),
    training: finishedOutputs(steps, 'train'),
    evaluation: finishedOutputs(steps, 'evaluate'),
    verdict: finishedOutputs(steps, 'gate'),
    published: finishedOutputs(steps, 'publish'),
    rollout: finishedOutputs(steps, 'rollout'),
    labels: project.labels,
  };
}

/** A failed run goes on from its failed step (attempts start again); CONFLICT if it is not failed or another run of its channel is running. */
export async function resumePipelineRun(deps: HubDeps, caller: Caller, runId: string): Promise<PipelineRunSummary> {
  const run = await requirePipelineRun(deps, runId);
  const jobId = newJobId();
  const step = await pipelineRuns.inPipelineLock(deps.db, run.modelId, run.channel, async (tx) => {
    const running = await pipelineRuns.runningOf(tx, run.modelId, run.channel);
    if (running) throw conflict(`pipeline run ${running.id} of the same model and channel is running; resume this one after it ends`);
    const resumed = await pipelineRuns.resume(tx, run.id, jobId, deps.now());
    if (!resumed) throw conflict(`pipeline run ${run.id} is ${run.status}; only a failed run can be resumed`);
    return resumed;
  });
  await sendStepJob(deps, { runId: run.id, step }, jobId);
  deps.log.info(`pipeline run ${run.id} resumed from ${step} by ${who(caller)}`);
  const project = await getProjectById(deps, run.projectId);
  return (await summaries(deps, project, [(await pipelineRuns.find(deps.db, run.id))!]))[0]!;
}

/** Stops a running run: unfinished steps are cancelled, and a training run it waits on is cancelled too. */
export async function cancelPipelineRun(deps: HubDeps, caller: Caller, runId: string): Promise<PipelineRunSummary> {
  const run = await requirePipelineRun(deps, runId);
  const train = await pipelineRuns.findStep(deps.db, run.id, 'train');
  const cancelled = await deps.db.transaction((tx) => pipelineRuns.cancelRun(tx, run.id, deps.now()));
  if (!cancelled) throw conflict(`pipeline run ${run.id} is ${run.status}; only a running run can be cancelled`);
  const trainingRunId = (train?.outputs as { runId?: string } | null)?.runId;
  if (train?.status === 'running' && trainingRunId) {
    await cancelTrainingRun(deps, caller, trainingRunId).catch((error: Error) => {
      if (!(error instanceof HubError)) throw error; // already finished: nothing to stop
    });
  }
  deps.log.info(`pipeline run ${run.id} cancelled by ${who(caller)}`);
  const project = await getProjectById(deps, run.projectId);
  return (await summaries(deps, project, [(await pipelineRuns.find(deps.db, run.id))!]))[0]!;
}

function stepView(deps: HubDeps, s: PipelineStepRow): PipelineStepView {
  const end = s.finishedAt ?? (s.status === 'running' ? deps.now() : null);
  return {
    step: s.step,
    status: s.status,
    attempts: s.attempts,
    startedAt: s.startedAt?.toISOString() ?? null,
    finishedAt: s.finishedAt?.toISOString() ?? null,
    seconds: s.startedAt && end ? Math.max(0, (end.getTime() - s.startedAt.getTime()) / 1000) : null,
    reusedFromRunId: s.reusedFromRunId,
    inputsHash: s.inputsHash,
    error: s.error,
  };
}

/** Why a run ended as it did, in words. */
function reasonOf(run: PipelineRun, steps: PipelineStepRow[]): string | null {
  if (run.status === 'running') return null;
  if (run.status === 'cancelled') return 'cancelled';
  const failed = steps.find((s) => s.status === 'failed');
  if (run.status === 'failed') return failed ? `${failed.step}: ${failed.error ?? 'failed'}` : 'failed';
  const verdict = finishedOutputs(steps, 'gate');
  if (run.outcome === 'candidate' && verdict) return verdict.reason;
  const rolled = finishedOutputs(steps, 'rollout');
  if (rolled?.reason) return rolled.reason;
  return verdict?.reason ?? null;
}

async function summaries(deps: HubDeps, project: Project, runs: PipelineRun[]): Promise<PipelineRunSummary[]> {
  const steps = await pipelineRuns.stepsOf(
    deps.db,
    runs.map((r) => r.id),
  );
  const modelRows = await models.listModels(deps.db, project.id);
  const versionsByModel = new Map<string, Map<string, number>>();
  for (const modelId of new Set(runs.map((r) => r.modelId))) versionsByModel.set(modelId, await models.versionNumbers(deps.db, modelId));
  return runs.map((run) => {
    const own = steps.filter((s) => s.runId === run.id);
    const numbers = versionsByModel.get(run.modelId)!;
    return {
      id: run.id,
      project: project.slug,
      model: modelRows.find((m) => m.id === run.modelId)?.name ?? run.config.settings.model ?? '',
      channel: run.channel,
      trigger: run.trigger,
      triggerDetail: run.triggerDetail,
      status: run.status,
      outcome: run.outcome,
      reason: reasonOf(run, own),
      championVersion: run.championVersionId ? (numbers.get(run.championVersionId) ?? null) : null,
      challengerVersion: run.challengerVersionId ? (numbers.get(run.challengerVersionId) ?? null) : null,
      currentStep: run.status === 'running' ? (own.find((s) => s.status === 'running' || s.status === 'pending')?.step ?? null) : null,
      steps: own.map((s) => ({ step: s.step, status: s.status })),
      createdBy: run.createdBy,
      createdAt: run.createdAt.toISOString(),
      finishedAt: run.finishedAt?.toISOString() ?? null,
    };
  });
}
