/**
 * The `train` job: loads the dataset version, trains in worker threads, and records progress, epoch metrics, logs,
 * lineage, evaluation and the exported model files. Every write names the attempt, so a worker that was presumed
 * dead and replaced cannot overwrite its successor's run.
 */
import { and, eq } from 'drizzle-orm';
import { type ModelConfig, type TrainConfig, modelJsonFor, train } from '@edgeloop/training';
import { runEpochs, runLogs, runs } from '../db/schema';
import type { HubDeps } from '../deps';
import { getProjectById } from '../projects/project.service';
import { loadTrainingData } from './dataset-loader';
import { machineLineage } from './lineage';
import { preprocessingFor, requireRun } from './run.service';

export const HEARTBEAT_MS = 5_000;
const PROGRESS_WRITE_MS = 1_000;

export type JobOutcome = 'succeeded' | 'failed' | 'cancelled' | 'skipped';

/** Object-store prefix of a run's exported model files. */
export const runArtifactPrefix = (runId: string) => `runs/${runId}/`;

export async function runTrainingJob(deps: HubDeps, runId: string, worker: string): Promise<JobOutcome> {
  const run = await requireRun(deps, runId);
  if (run.status !== 'queued' && run.status !== 'running') return 'skipped';
  const attempt = run.attempts + 1;
  const thisAttempt = and(eq(runs.id, runId), eq(runs.attempts, attempt));
  await deps.db.delete(runEpochs).where(eq(runEpochs.runId, runId)); // a retry starts over
  const [claimed] = await deps.db
    .update(runs)
    .set({ status: 'running', attempts: attempt, worker, startedAt: deps.now(), heartbeatAt: deps.now(), progress: null, error: null })
    .where(and(eq(runs.id, runId), eq(runs.attempts, run.attempts)))
    .returning();
  if (!claimed) return 'skipped'; // another worker claimed it first

  const log = (line: string) => {
    deps.log.info(`run ${runId.slice(0, 8)}: ${line}`);
    void deps.db.insert(runLogs).values({ runId, line }).catch(() => {});
  };
  const abort = new AbortController();
  const heartbeat = setInterval(() => {
    void (async () => {
      const [row] = await deps.db.update(runs).set({ heartbeatAt: deps.now() }).where(and(thisAttempt, eq(runs.status, 'running'))).returning({ cancel: runs.cancelRequested });
      if (!row || row.cancel) abort.abort(); // cancelled, or this attempt was superseded
    })().catch(() => {});
  }, HEARTBEAT_MS);

  try {
    if (claimed.cancelRequested) abort.abort();
    const project = await getProjectById(deps, run.projectId);
    const model = run.modelConfig as unknown as ModelConfig;
    const config = run.trainConfig as unknown as TrainConfig;
    log(`attempt ${attempt} on ${worker}: ${model.architecture}, ${config.epochs} epochs, batch ${config.batchSize}, seed ${config.seed}`);
    const data = await loadTrainingData(deps, { project: project.slug, versionId: run.datasetVersionId, preprocessing: preprocessingFor(model) }, log);
    log(`train ${data.train.count}, val ${data.val.count}, test ${data.test.count} images`);

    let lastProgressWrite = 0;
    const result = await train({
      model,
      config,
      data,
      signal: abort.signal,
      onLog: log,
      onProgress: (progress) => {
        if (performance.now() - lastProgressWrite < PROGRESS_WRITE_MS && progress.step !== progress.steps) return;
        lastProgressWrite = performance.now();
        void deps.db.update(runs).set({ progress: { ...progress } }).where(thisAttempt).catch(() => {});
      },
      onEpoch: (m) => {
        log(`epoch ${m.epoch}: loss ${m.loss.toFixed(4)} acc ${(m.accuracy * 100).toFixed(2)}% val_loss ${m.valLoss.toFixed(4)} val_acc ${(m.valAccuracy * 100).toFixed(2)}% (${Math.round(m.imagesPerSecond)} img/s)`);
        void deps.db.insert(runEpochs).values({ runId, ...m }).catch(() => {});
      },
    });
    const lineage = {
      ...machineLineage(worker),
      datasetVersionId: run.datasetVersionId,
      seed: config.seed,
      backend: result.backend.name,
      backendDetail: result.backend.detail,
      replicas: result.replicas,
      seconds: result.seconds,
      requestedBy: run.createdBy,
      attempt,
    };
    if (result.cancelled) {
      const [current] = await deps.db.select({ cancel: runs.cancelRequested }).from(runs).where(thisAttempt);
      if (!current) return 'skipped';
      await deps.db.update(runs).set({ status: 'cancelled', lineage, finishedAt: deps.now(), error: 'cancelled' }).where(thisAttempt);
      log('cancelled');
      return 'cancelled';
    }

    const prefix = runArtifactPrefix(runId);
    for (const [format, artifacts] of Object.entries(result.artifacts)) {
      await deps.store.put(`${prefix}${format}/weights.bin`, artifacts.weightData, { contentType: 'application/octet-stream' });
      const modelJson = JSON.stringify(modelJsonFor(artifacts, ['weights.bin']));
      await deps.store.put(`${prefix}${format}/model.json`, new TextEncoder().encode(modelJson), { contentType: 'application/json' });
    }
    await deps.db
      .update(runs)
      .set({ status: 'succeeded', lineage, evaluation: result.evaluations as Record<string, unknown>, artifactPrefix: prefix, finishedAt: deps.now() })
      .where(thisAttempt);
    log(`succeeded in ${result.seconds.toFixed(1)} s: test accuracy ${((result.evaluations.float32?.accuracy ?? 0) * 100).toFixed(2)}%`);
    return 'succeeded';
  } catch (error) {
    const message = (error as Error).message;
    log(`failed: ${message}`);
    await deps.db.update(runs).set({ status: 'failed', error: message, finishedAt: deps.now() }).where(thisAttempt);
    return 'failed';
  } finally {
    clearInterval(heartbeat);
  }
}
