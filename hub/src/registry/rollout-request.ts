/**
 * Asking for a rollout check (the rollout.check queue, registry/rollout-check.job.ts) sooner than its every-minute
 * schedule: after a monitor update of a canary's candidate stream, so a regression is acted on as soon as the monitors
 * see it. Kept apart from the job so the monitor job imports only this (and the channel owner).
 */
import type { HubDeps } from '../deps';
import { QUEUES } from '../jobs/job-queue';
import * as channels from './channel.repository';

/** At most one requested check per this many seconds, whatever the number of requests. */
export const ROLLOUT_CHECK_DEBOUNCE_SECONDS = 10;

/** Asks for a check soon, debounced. */
export async function requestRolloutCheck(deps: HubDeps): Promise<void> {
  await deps.queue.sendDebounced(QUEUES.rolloutCheck, {}, { retryLimit: 2, retryDelay: 10, expireInMinutes: 5 }, ROLLOUT_CHECK_DEBOUNCE_SECONDS, 'requested');
}

/** After a monitor update that read events of (model version, channel): a check, when that stream is a canary's candidate. */
export async function requestRolloutCheckAfterUpdate(deps: HubDeps, stream: { modelVersionId: string; channel: string }): Promise<void> {
  if (await channels.isCandidate(deps.db, stream.modelVersionId, stream.channel)) await requestRolloutCheck(deps);
}
