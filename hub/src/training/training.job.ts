/**
 * The `train` job: loads the dataset version, trains in worker threads, and records progress, epoch metrics, logs,
 * lineage, evaluation and the exported model files. Every write names the attempt, so a worker that was presumed
 * dead and replaced cannot overwrite its successor's run.
 */
import { type Evaluations, type Lineage, type LoadingProgress, type TrainingProgress, evaluationsSchema, formatIssues } from '@edgeloop/shared';
import { type ModelArtifacts, modelJsonFor, train } from '@edgeloop/training';
import { StoredDataError } from '../db/stored-json';
import type { HubDeps } from '../deps';
import { trainingImages, trainingImagesPerSecond } from '../metrics';
import { getProjectById } from '../projects/project.service';
import { loadTrainingData } from './dataset-loader';
import { machineLineage } from './lineage';
import { readRunArtifacts } from './run-artifacts';
import * as runs from './run.repository';
import { preprocessingFor, requireRun } from './run.service';

export const HEARTBEAT_MS = 5_000;
const PROGRESS_WRITE_MS = 1_000;

export type JobOutcome = 'succeeded' | 'failed' | 'cancelled' | 'skipped';

/** Object-store prefix of a run's exported model files. */
export const runArtifactPrefix = (runId: string) => `runs/${runId}/`;

export async function runTrainingJob(deps: HubDeps, runId: string, worker: string): Promise<JobOutcome> {
  const read = await requireRun(deps, runId).then(
    (run) => ({ run }),
    async (error: unknown) => {
      if (!(error instanceof StoredDataError)) throw error;
      // A row no reader can use cannot be trained: say why on the run rather than leave it queued with a failing job
      // (a run that already finished keeps its outcome).
      return { run: null, failed: await runs.markUnreadableFailed(deps.db, runId, { error: error.message, at: deps.now() }) };
    },
  );
  if (!read.run) return read.failed ? 'failed' : 'skipped';
  const { run } = read;
  if (run.status !== 'queued' && run.status !== 'running') return 'skipped';
  const attempt = run.attempts + 1;
  await runs.clearEpochs(deps.db, runId); // a retry starts over
  const claimed = await runs.markRunning(deps.db, runId, { previousAttempts: run.attempts, worker, at: deps.now() });
  if (!claimed) return 'skipped'; // another worker claimed it first

  const log = (line: string) => {
    deps.log.info(`run ${runId.slice(0, 8)}: ${line}`);
    void runs.appendLog(deps.db, runId, line).catch(() => {});
  };
  // Progress is one column holding both phases (loading, then training), written one write after another so a
  // late write of an earlier phase never lands on a later one.
  let loading: LoadingProgress | null = null;
  let lastProgressWrite = 0;
  let writing = Promise.resolve();
  const writeProgress = (training: TrainingProgress | null) => {
    const progress = { loading, training };
    writing = writing.then(() => runs.recordProgress(deps.db, runId, attempt, progress)).catch(() => {});
  };
  const abort = new AbortController();
  const heartbeat = setInterval(() => {
    void (async () => {
      const beat = await runs.heartbeat(deps.db, runId, attempt, deps.now());
      if (!beat || beat.cancelRequested) abort.abort(); // cancelled, or this attempt was superseded
    })().catch(() => {});
  }, HEARTBEAT_MS);

  try {
    if (claimed.cancelRequested) abort.abort();
    const project = await getProjectById(deps, run.projectId);
    const model = run.modelConfig;
    const config = run.trainConfig;
    log(`attempt ${attempt} on ${worker}: ${model.architecture}, ${config.epochs} epochs, batch ${config.batchSize}, seed ${config.seed}`);
    const emphasis = config.reviewedShare !== null || config.maxBaseItems !== null ? { reviewedShare: config.reviewedShare, maxBaseItems: config.maxBaseItems, seed: config.seed } : undefined;
    const loadingStarted = performance.now();
    const data = await loadTrainingData(
      deps,
      { project: project.slug, versionId: run.datasetVersionId, preprocessing: preprocessingFor(model), ...(emphasis ? { emphasis } : {}) },
      log,
      ({ done, total, fromCache }) => {
        // The first and the last count always; in between about once a second.
        const ends = done === 0 || done === total;
        if (!ends && performance.now() - lastProgressWrite < PROGRESS_WRITE_MS) return;
        lastProgressWrite = performance.now();
        loading = { done, total, fromCache, seconds: done === total ? (performance.now() - loadingStarted) / 1000 : null };
        writeProgress(null);
      },
    );
    log(`train ${data.train.count}, val ${data.val.count}, test ${data.test.count} images`);
    const initialWeights = config.initFromRun ? await warmStartWeights(deps, config.initFromRun, log) : undefined;

    const result = await train({
      model,
      config,
      data,
      signal: abort.signal,
      ...(initialWeights ? { initialWeights } : {}),
      onLog: log,
      onProgress: (progress) => {
        if (performance.now() - lastProgressWrite < PROGRESS_WRITE_MS && progress.step !== progress.steps) return;
        lastProgressWrite = performance.now();
        writeProgress({ ...progress });
      },
      onEpoch: (m) => {
        log(`epoch ${m.epoch}: loss ${m.loss.toFixed(4)} acc ${(m.accuracy * 100).toFixed(2)}% val_loss ${m.valLoss.toFixed(4)} val_acc ${(m.valAccuracy * 100).toFixed(2)}% (${Math.round(m.imagesPerSecond)} img/s)`);
        trainingImagesPerSecond.set(m.imagesPerSecond);
        trainingImages.inc(data.train.count);
        void runs.recordEpoch(deps.db, runId, m).catch(() => {});
      },
    });
    const lineage: Lineage = {
      ...machineLineage(worker),
      datasetVersionId: run.datasetVersionId,
      seed: config.seed,
      backend: result.backend.name,
      backendDetail: result.backend.detail,
      replicas: result.replicas,
      seconds: result.seconds,
      requestedBy: run.createdBy,
      attempt,
      initFromRun: config.initFromRun,
    };
    if (result.cancelled) {
      if ((await runs.cancelRequestedFor(deps.db, runId, attempt)) === null) return 'skipped';
      await runs.markCancelled(deps.db, runId, attempt, { lineage, error: 'cancelled', at: deps.now() });
      log('cancelled');
      return 'cancelled';
    }

    const evaluation = checkedEvaluations(result.evaluations);
    const prefix = runArtifactPrefix(runId);
    for (const [format, artifacts] of Object.entries(result.artifacts)) {
      await deps.store.put(`${prefix}${format}/weights.bin`, artifacts.weightData, { contentType: 'application/octet-stream' });
      const modelJson = JSON.stringify(modelJsonFor(artifacts, ['weights.bin']));
      await deps.store.put(`${prefix}${format}/model.json`, new TextEncoder().encode(modelJson), { contentType: 'application/json' });
    }
    await runs.markSucceeded(deps.db, runId, attempt, { lineage, evaluation, artifactPrefix: prefix, at: deps.now() });
    log(`succeeded in ${result.seconds.toFixed(1)} s: test accuracy ${((evaluation.float32?.accuracy ?? 0) * 100).toFixed(2)}%`);
    return 'succeeded';
  } catch (error) {
    const message = (error as Error).message;
    log(`failed: ${message}`);
    await runs.markFailed(deps.db, runId, attempt, { error: message, at: deps.now() });
    return 'failed';
  } finally {
    trainingImagesPerSecond.set(0);
    clearInterval(heartbeat);
  }
}

/** The float32 weights of the run a warm start begins from (createRun checked it succeeded with the same model config). */
async function warmStartWeights(deps: HubDeps, runId: string, log: (line: string) => void): Promise<ModelArtifacts> {
  const from = await requireRun(deps, runId);
  if (from.status !== 'succeeded' || !from.artifactPrefix) throw new Error(`the run to warm-start from (${runId}) is ${from.status} and has no weights`);
  const artifacts = await readRunArtifacts(deps, from.artifactPrefix, 'float32');
  log(`warm start: the float32 weights of run ${runId} (${artifacts.weightData.length} bytes)`);
  return artifacts;
}

/**
 * The evaluations the training threads sent, checked against the contract before they are stored: a garbled
 * message fails the run with what was wrong, instead of storing what no reader can use.
 */
export function checkedEvaluations(evaluations: unknown): Evaluations {
  const parsed = evaluationsSchema.safeParse(evaluations);
  if (parsed.success) return parsed.data;
  throw new Error(`the training threads sent evaluations that do not match their contract: ${formatIssues(parsed.error)}`);
}
