/**
 * The monitor.update job: brings one (model version, channel) stream up to date. Syncing predictions asks for it,
 * debounced per stream (at most one job per stream every DEBOUNCE_SECONDS), so a burst of sync calls costs one insert
 * attempt each and makes one job; the job runs transactions of EVENTS_PER_TRANSACTION events until the stream is
 * caught up or its time is used, and sends itself again when events remain.
 */
import os from 'node:os';
import { type MonitorUpdateJob, monitorUpdateJobSchema } from '@edgeloop/shared';
import type { HubDeps } from '../deps';
import { QUEUES } from '../jobs/job-queue';
import * as streams from './monitor-stream.repository';
import { HOLD_BACK_SECONDS, type ProcessOptions, type ProcessOutcome, processStream } from './monitor.service';
import { deliverAlertWebhook, requestAlertWebhooks } from './webhook.service';
import { requestRolloutCheckAfterUpdate } from '../registry/rollout-request';

/** One job per stream per this many seconds, whatever the number of sync calls. */
export const DEBOUNCE_SECONDS = 2;
/** A job stops starting transactions after this long and hands the rest to its next job (other streams wait too). */
const JOB_BUDGET_MS = 20_000;
/** When a version's profile is being computed, look again after this long. */
const PROFILE_WAIT_SECONDS = 30;

const streamKey = (job: MonitorUpdateJob) => `${job.modelVersionId}/${job.channel}`;

/**
 * Asks for an update of the stream, debounced per stream: pg-boss keeps one job per stream and slot of
 * DEBOUNCE_SECONDS, and puts a request made while that slot's job exists into the next slot. startAfter delays it.
 */
export async function requestMonitorUpdate(deps: HubDeps, job: MonitorUpdateJob, startAfterSeconds = 0): Promise<void> {
  await deps.queue.sendDebounced(QUEUES.monitorUpdate, job, { startAfter: startAfterSeconds, retryLimit: 3, retryDelay: 5, expireInMinutes: 10 }, DEBOUNCE_SECONDS, streamKey(job));
}

/** Runs one job: transactions until caught up or out of time; then asks again if anything remains. */
export async function runMonitorUpdateJob(deps: HubDeps, data: unknown, options: Omit<ProcessOptions, 'limit'> = {}): Promise<ProcessOutcome> {
  const job = monitorUpdateJobSchema.parse(data);
  const stream = await streams.getOrCreate(deps.db, job);
  const started = Date.now();
  for (;;) {
    const outcome = await processStream(deps, stream.id, options);
    if (outcome.status === 'waiting-for-profile') {
      if (outcome.profile === 'computing') await requestMonitorUpdate(deps, job, PROFILE_WAIT_SECONDS);
      return outcome;
    }
    if (outcome.status !== 'processed') return outcome;
    // After the commit, never inside the transaction: a webhook job may run at once and must find the alerts.
    await requestAlertWebhooks(deps, job.projectId, outcome);
    // A canary's candidate stream moved: the rollout check looks at it now rather than at the next minute.
    if (outcome.events > 0) await requestRolloutCheckAfterUpdate(deps, job);
    if (outcome.more && Date.now() - started < JOB_BUDGET_MS) continue;
    if (outcome.more) await requestMonitorUpdate(deps, job);
    else if (outcome.pending) await requestMonitorUpdate(deps, job, HOLD_BACK_SECONDS + 1);
    return outcome;
  }
}

export interface MonitorWorker {
  name: string;
  stop(): Promise<void>;
}

/**
 * Takes monitor.update jobs one at a time (each stream under its own lock, so several workers may run), and
 * monitor.webhook jobs (a failed post throws, and pg-boss retries it with backoff).
 */
export async function startMonitorWorker(deps: HubDeps, options: { name?: string } = {}): Promise<MonitorWorker> {
  const name = options.name ?? `${os.hostname()}:${process.pid}`;
  const workId = await deps.queue.work(QUEUES.monitorUpdate, { pollingIntervalSeconds: 1, batchSize: 1 }, async ([job]) => {
    const outcome = await runMonitorUpdateJob(deps, job!.data);
    if (outcome.status === 'processed' && outcome.opened.length) {
      deps.log.info(`monitor ${streamKey(job!.data as MonitorUpdateJob)}: ${outcome.opened.map((a) => `${a.detector} alert (${a.effect})`).join('; ')}`);
    }
    return { status: outcome.status };
  });
  const webhookWorkId = await deps.queue.work(QUEUES.monitorWebhook, { pollingIntervalSeconds: 1, batchSize: 1 }, async ([job]) => deliverAlertWebhook(deps, job!.data));
  deps.log.info(`monitor worker ${name} is taking jobs`);
  return {
    name,
    async stop() {
      await deps.queue.offWork({ id: workId });
      await deps.queue.offWork({ id: webhookWorkId });
    },
  };
}
