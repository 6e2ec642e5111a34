/**
 * A pipeline worker: takes `pipeline.step` jobs, checks the triggers every minute (a pg-boss schedule, so one of
 * several hub processes does it each minute), and hands steps whose worker or job was lost to new jobs (every few
 * seconds in each process, one process at a time: an advisory try-lock).
 */
import os from 'node:os';
import { unlessBusy } from '../db/advisory-lock';
import type { HubDeps } from '../deps';
import { QUEUES } from '../jobs/job-queue';
import { HEARTBEAT_MS, type StepRegistry, recoverStalledSteps, runPipelineStepJob } from './pipeline-step.job';
import { checkTriggers, runScheduledTriggers } from './pipeline-trigger.service';
import { PIPELINE_STEP_REGISTRY } from './step-registry';

export interface PipelineWorker {
  name: string;
  stop(): Promise<void>;
}

/** The lock of the stalled-step check: every process on the database checks every few seconds, one at a time. */
export const STALLED_STEPS_LOCK = 'pipelines:recover-stalled-steps';

/** One process's periodic check: recoverStalledSteps, or null (skipped) while another process's check is running. */
export function recoverStalledStepsPass(deps: HubDeps): Promise<number | null> {
  return unlessBusy(deps.db, STALLED_STEPS_LOCK, () => recoverStalledSteps(deps));
}

export async function startPipelineWorker(deps: HubDeps, options: { name?: string; registry?: StepRegistry; triggers?: boolean } = {}): Promise<PipelineWorker> {
  const name = options.name ?? `${os.hostname()}:${process.pid}`;
  const registry = options.registry ?? PIPELINE_STEP_REGISTRY;
  // Jobs in progress, so stop() can wait for them: offWork stops fetching but does not wait.
  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(work: Promise<T>): Promise<T> => {
    inFlight.add(work);
    return work.finally(() => inFlight.delete(work));
  };
  const stepWork = await deps.queue.work(QUEUES.pipelineStep, { pollingIntervalSeconds: 1, batchSize: 1 }, async ([job]) => ({
    outcome: await track(runPipelineStepJob(deps, registry, job!.data, job!.id, name)),
  }));
  let triggerWork: string | null = null;
  if (options.triggers ?? true) {
    await deps.queue.schedule(QUEUES.pipelineTriggers, '* * * * *', {}, { tz: 'UTC' });
    triggerWork = await deps.queue.work(QUEUES.pipelineTriggers, { pollingIntervalSeconds: 5, batchSize: 1 }, () =>
      track(
        (async () => {
          const checks = await checkTriggers(deps);
          const scheduled = await runScheduledTriggers(deps);
          return { started: [...checks.flatMap((c) => (c.started ? [c.started.id] : [])), ...scheduled.map((r) => r.id)] };
        })(),
      ),
    );
  }
  const recovery = setInterval(() => void recoverStalledStepsPass(deps).catch((e: Error) => deps.log.warn(`stalled pipeline step check: ${e.message}`)), 2 * HEARTBEAT_MS);
  deps.log.info(`pipeline worker ${name} is taking jobs`);
  return {
    name,
    async stop() {
      clearInterval(recovery);
      // By id: a plain string would be taken for a queue name and stop every worker of that queue in this process.
      await deps.queue.offWork({ id: stepWork });
      if (triggerWork) await deps.queue.offWork({ id: triggerWork });
      await Promise.allSettled([...inFlight]);
    },
  };
}
