/** Training runs: queue, list, inspect, cancel. The training itself happens in training.job.ts on a worker. */
import { isDeepStrictEqual } from 'node:util';
import type { ModelConfig, Preprocessing, TrainConfig, TrainingProgress } from '@edgeloop/shared';
import { validateModelConfig, validateTrainConfig } from '@edgeloop/training';
import type { Caller, HubDeps } from '../deps';
import { getProject, getProjectById } from '../projects/project.service';
import { getVersion } from '../datasets/version.service';
import { badRequest, conflict, notFound } from '../errors';
import { QUEUES } from '../jobs/job-queue';
import { runMetrics } from './run-metrics';
import * as runs from './run.repository';
import type { Run, RunEpoch, RunStatus } from './run.repository';

export interface RunSummary {
  id: string;
  project: string;
  datasetVersionId: string;
  sweepId: string | null;
  status: RunStatus;
  model: ModelConfig;
  train: TrainConfig;
  progress: TrainingProgress | null;
  metrics: Record<string, number>;
  error: string | null;
  attempts: number;
  cancelRequested: boolean;
  createdBy: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface CreateRunInput {
  project: string;
  datasetVersion: string;
  model?: Record<string, unknown>;
  train?: Record<string, unknown>;
  sweepId?: string;
}

/** A retried job (its worker died) starts over; pg-boss gives up after this many retries. */
const JOB_RETRY_LIMIT = 2;

/** The input a model config implies: its size and colour, pixel values scaled to [0, 1]. */
export function preprocessingFor(model: ModelConfig): Preprocessing {
  const [height, width, channels] = model.inputShape;
  return { height, width, color: channels === 1 ? 'grayscale' : 'rgb', scale: 1, offset: 0 };
}

export function validateRunConfigs(labelCount: number, model: Record<string, unknown> | undefined, train: Record<string, unknown> | undefined) {
  let configs;
  try {
    configs = { model: validateModelConfig({ architecture: 'reference-cnn', ...model, numClasses: labelCount }), train: validateTrainConfig(train) };
  } catch (error) {
    throw badRequest((error as Error).message);
  }
  const priors = configs.train.classPriors;
  if (priors && priors.length !== labelCount) throw badRequest(`classPriors must have one share per label of the project (${labelCount}), not ${priors.length}`);
  if (priors && Math.abs(priors.reduce((a, b) => a + b, 0) - 1) > 1e-3) throw badRequest('classPriors must sum to 1');
  return configs;
}

export async function createRun(deps: HubDeps, caller: Caller, input: CreateRunInput): Promise<RunSummary> {
  const project = await getProject(deps, input.project);
  const version = await getVersion(deps, input.project, input.datasetVersion);
  const configs = validateRunConfigs(project.labels.length, input.model, input.train);
  if (configs.train.initFromRun) await checkWarmStart(deps, { projectId: project.id, project: project.slug, model: configs.model, runId: configs.train.initFromRun });
  const row = await runs.createQueued(deps.db, {
    projectId: project.id,
    datasetVersionId: version.id,
    sweepId: input.sweepId ?? null,
    modelConfig: configs.model,
    trainConfig: configs.train,
    createdBy: caller.name,
  });
  const jobId = await deps.queue.send(QUEUES.train, { runId: row.id }, { retryLimit: JOB_RETRY_LIMIT, expireInHours: 23 });
  const queued = await runs.setJob(deps.db, row.id, jobId);
  deps.log.info(`run ${row.id} queued on ${version.id.slice(0, 12)} by ${caller.name}`);
  return toRunSummary(queued, project.slug, []);
}

/**
 * A warm start needs a run to start from that the new one can take weights from: a succeeded run (it has exported
 * weights) of the same project with the same model config (same shapes). Refused otherwise, naming the field and why.
 */
async function checkWarmStart(deps: HubDeps, input: { projectId: string; project: string; model: ModelConfig; runId: string }): Promise<void> {
  const from = await runs.find(deps.db, input.runId);
  if (!from || from.projectId !== input.projectId) throw badRequest(`train.initFromRun: project "${input.project}" has no run ${input.runId}`);
  if (from.status !== 'succeeded' || !from.artifactPrefix) throw badRequest(`train.initFromRun: run ${input.runId} is ${from.status}; a warm start needs a succeeded run`);
  if (!isDeepStrictEqual(from.modelConfig, input.model)) {
    const fields = [...new Set([...Object.keys(from.modelConfig), ...Object.keys(input.model)])].filter(
      (k) => !isDeepStrictEqual((from.modelConfig as Record<string, unknown>)[k], (input.model as Record<string, unknown>)[k]),
    );
    const show = (config: ModelConfig) => fields.map((k) => `${k} ${JSON.stringify((config as Record<string, unknown>)[k])}`).join(', ');
    throw badRequest(`train.initFromRun: run ${input.runId} has another model config (${show(from.modelConfig)}; this run: ${show(input.model)}); a warm start needs the same model config`);
  }
}

/** The slug of the project a run belongs to, or null when there is no such run (any string is safe to pass). */
export async function projectOfRun(deps: HubDeps, runId: string): Promise<string | null> {
  return runs.projectSlugOf(deps.db, runId);
}

export async function requireRun(deps: HubDeps, runId: string): Promise<Run> {
  const row = await runs.find(deps.db, runId);
  if (!row) throw notFound(`no run ${runId}`);
  return row;
}

export async function getRun(deps: HubDeps, runId: string, options: { logLines?: number } = {}) {
  const row = await requireRun(deps, runId);
  const project = await getProjectById(deps, row.projectId);
  const epochs = await runs.epochsOf(deps.db, runId);
  const logs = await runs.recentLogs(deps.db, runId, options.logLines ?? 200);
  return {
    ...toRunSummary(row, project.slug, epochs),
    epochs,
    evaluation: row.evaluation,
    lineage: row.lineage,
    logs: logs.map((l) => ({ at: l.at.toISOString(), line: l.line })),
  };
}

export async function listRuns(deps: HubDeps, input: { project: string; limit: number; sweepId?: string }): Promise<RunSummary[]> {
  const project = await getProject(deps, input.project);
  const rows = await runs.listOfProject(deps.db, { projectId: project.id, sweepId: input.sweepId, limit: input.limit });
  const lastEpochs = await runs.lastEpochsOf(deps.db, rows.map((r) => r.id));
  return rows.map((r) => {
    const last = lastEpochs.get(r.id);
    return toRunSummary(r, project.slug, last ? [last] : []);
  });
}

/** A queued run is taken off the queue; a running one stops at its next step (the worker polls the flag). */
export async function cancelRun(deps: HubDeps, caller: Caller, runId: string): Promise<RunSummary> {
  const row = await requireRun(deps, runId);
  const project = await getProjectById(deps, row.projectId);
  if (row.status !== 'queued' && row.status !== 'running') throw conflict(`run ${runId} is already ${row.status}`);
  if (row.status === 'queued') {
    if (row.jobId) await deps.queue.cancel(QUEUES.train, row.jobId);
    const updated = await runs.cancelQueued(deps.db, runId, { error: `cancelled by ${caller.name}`, at: deps.now() });
    if (updated) return toRunSummary(updated, project.slug, []);
  }
  const updated = await runs.requestCancel(deps.db, runId);
  deps.log.info(`run ${runId}: cancel requested by ${caller.name}`);
  return toRunSummary(updated!, project.slug, []);
}

export function toRunSummary(row: Run, project: string, epochs: Pick<RunEpoch, 'valAccuracy' | 'valLoss'>[]): RunSummary {
  return {
    id: row.id,
    project,
    datasetVersionId: row.datasetVersionId,
    sweepId: row.sweepId,
    status: row.status,
    model: row.modelConfig,
    train: row.trainConfig,
    progress: row.progress ?? null,
    metrics: runMetrics(epochs[epochs.length - 1], row.evaluation ?? null) as Record<string, number>,
    error: row.error,
    attempts: row.attempts,
    cancelRequested: row.cancelRequested,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    startedAt: row.startedAt?.toISOString() ?? null,
    finishedAt: row.finishedAt?.toISOString() ?? null,
  };
}
