/**
 * A training worker: takes `train` jobs from the queue one at a time, and hands back the jobs of workers that
 * stopped sending heartbeats (killed, machine lost) so another worker retries them.
 */
import os from 'node:os';
import { unlessBusy } from '../db/advisory-lock';
import type { HubDeps } from '../deps';
import { QUEUES } from '../jobs/job-queue';
import * as runs from './run.repository';
import { HEARTBEAT_MS, runTrainingJob } from './training.job';

/** A run whose heartbeat is older than this is presumed to have lost its worker (TRAINING_STALE_AFTER_MS sets another). */
export const STALE_AFTER_MS = 6 * HEARTBEAT_MS;

export interface TrainingWorker {
  name: string;
  stop(): Promise<void>;
}

export async function startTrainingWorker(deps: HubDeps, options: { name?: string; staleAfterMs?: number } = {}): Promise<TrainingWorker> {
  const name = options.name ?? `${os.hostname()}:${process.pid}`;
  const workId = await deps.queue.work<{ runId: string }>(QUEUES.train, { pollingIntervalSeconds: 1, batchSize: 1 }, async ([job]) => {
    const outcome = await runTrainingJob(deps, job!.data.runId, name);
    return { outcome };
  });
  const recovery = setInterval(() => void recoverStalledRunsPass(deps, options.staleAfterMs).catch((e: Error) => deps.log.warn(`stalled-run check: ${e.message}`)), HEARTBEAT_MS);
  deps.log.info(`training worker ${name} is taking jobs`);
  return {
    name,
    async stop() {
      clearInterval(recovery);
      await deps.queue.offWork({ id: workId });
    },
  };
}

/** The lock of the stalled-run check: every process on the database checks every few seconds, one at a time. */
export const STALLED_RUNS_LOCK = 'training:recover-stalled-runs';

/** One process's periodic check: recoverStalledRuns, or null (skipped) while another process's check is running. */
export function recoverStalledRunsPass(deps: HubDeps, staleAfterMs = STALE_AFTER_MS): Promise<number | null> {
  return unlessBusy(deps.db, STALLED_RUNS_LOCK, () => recoverStalledRuns(deps, staleAfterMs));
}

/** Fails the queue jobs of stale runs: pg-boss then retries them (or gives up after the retry limit). */
export async function recoverStalledRuns(deps: HubDeps, staleAfterMs = STALE_AFTER_MS): Promise<number> {
  const cutoff = new Date(deps.now().getTime() - staleAfterMs);
  const stale = await runs.requeueStalled(deps.db, { heartbeatBefore: cutoff, error: 'its worker stopped sending heartbeats; retrying' });
  for (const run of stale) {
    deps.log.warn(`run ${run.id}: no heartbeat since ${cutoff.toISOString()}; handing its job back to the queue`);
    if (run.jobId) await deps.queue.fail(QUEUES.train, run.jobId, { reason: 'worker lost' });
    const job = run.jobId ? await deps.queue.getJobById(QUEUES.train, run.jobId) : null;
    if (!job || job.state === 'failed') {
      await runs.markFailed(deps.db, run.id, null, { error: 'its worker stopped and the retries are used up', at: deps.now() });
    }
  }
  return stale.length;
}
