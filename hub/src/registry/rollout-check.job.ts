/**
 * The rollout.check job: for each channel with a canary whose project decides automatically (pipeline settings'
 * rollout.automatic), compares the canary and production groups and promotes the candidate to every device after
 * enough clean canary events, or aborts it on a regression, each recorded with the reason and its numbers. Scheduled
 * every minute (pg-boss cron, one job per minute whatever the number of hubs); a check is idempotent, and a decision
 * names the candidate it judged, so a canary decided meanwhile (by hand, or by another hub) is left alone.
 */
import os from 'node:os';
import type { Caller, HubDeps } from '../deps';
import { HubError } from '../errors';
import { QUEUES } from '../jobs/job-queue';
import * as channels from './channel.repository';
import { canaryState, decideCanary } from './channel.service';

export { requestRolloutCheck, requestRolloutCheckAfterUpdate } from './rollout-request';

/** Who automatic decisions are recorded as, in the channel history. */
export const ROLLOUT_CHECK_CALLER: Caller = { tokenId: null, name: 'rollout check', role: 'admin', projects: null };
/** Every minute. */
export const ROLLOUT_CHECK_CRON = '* * * * *';

export interface CanaryCheck {
  project: string;
  model: string;
  channel: string;
  candidate: number;
  /** promoted / aborted: decided now; waiting: not yet; manual: the project decides by hand; gone: decided meanwhile. */
  outcome: 'promoted' | 'aborted' | 'waiting' | 'manual' | 'gone';
  reason: string;
}

/** Checks every running canary once; returns what came of each. */
export async function checkCanaries(deps: HubDeps): Promise<CanaryCheck[]> {
  const out: CanaryCheck[] = [];
  for (const row of await channels.everyCanary(deps.db)) {
    const ref = { project: row.project, model: row.model, channel: row.channel };
    const state = await canaryState(deps, ref);
    if (!state.candidate || !state.verdict) continue; // decided since the list was read
    const base = { ...ref, candidate: state.candidate.version, reason: state.verdict.reason };
    if (!state.verdict.automatic) {
      out.push({ ...base, outcome: state.verdict.decision === 'wait' ? 'waiting' : 'manual' });
      continue;
    }
    if (state.verdict.decision === 'wait') {
      out.push({ ...base, outcome: 'waiting' });
      continue;
    }
    try {
      await decideCanary(deps, ROLLOUT_CHECK_CALLER, { ...ref, decision: state.verdict.decision, reason: state.verdict.reason, version: state.candidate.version });
      out.push({ ...base, outcome: state.verdict.decision === 'promote' ? 'promoted' : 'aborted' });
    } catch (error) {
      // Another hub or an engineer decided between the read and the decision: nothing left to do.
      if (!(error instanceof HubError && error.code === 'CONFLICT')) throw error;
      out.push({ ...base, outcome: 'gone', reason: error.message });
    }
  }
  return out;
}

export interface RolloutWorker {
  name: string;
  stop(): Promise<void>;
}

/** Takes rollout.check jobs and keeps the every-minute schedule (stored in the queue, so several hubs share one). */
export async function startRolloutWorker(deps: HubDeps, options: { name?: string } = {}): Promise<RolloutWorker> {
  const name = options.name ?? `${os.hostname()}:${process.pid}`;
  await deps.queue.schedule(QUEUES.rolloutCheck, ROLLOUT_CHECK_CRON, {}, { retryLimit: 0, expireInMinutes: 5 });
  const workId = await deps.queue.work(QUEUES.rolloutCheck, { pollingIntervalSeconds: 2, batchSize: 1 }, async () => {
    const checks = await checkCanaries(deps);
    for (const check of checks.filter((c) => c.outcome === 'promoted' || c.outcome === 'aborted')) {
      deps.log.info(`${check.project}/${check.model}: canary of v${check.candidate} on ${check.channel} ${check.outcome} by the rollout check (${check.reason})`);
    }
    return { checked: checks.length, decided: checks.filter((c) => c.outcome === 'promoted' || c.outcome === 'aborted').length };
  });
  deps.log.info(`rollout worker ${name} is taking jobs`);
  return {
    name,
    async stop() {
      await deps.queue.offWork({ id: workId });
    },
  };
}
