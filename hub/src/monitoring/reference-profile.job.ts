/**
 * The `monitor.profile` job: computes a model version's reference profile. Sent by publishing (after the version
 * exists) and on first use of a version that has none; the queue keeps one queued and one active job per version.
 */
import os from 'node:os';
import type { HubDeps } from '../deps';
import { QUEUES } from '../jobs/job-queue';
import { type ComputeOutcome, computeReferenceProfile } from './reference-profile.service';

export interface ProfileJob {
  modelVersionId: string;
}

export interface ReferenceProfileWorker {
  name: string;
  stop(): Promise<void>;
}

/** Takes `monitor.profile` jobs one at a time; each answers with the profile's status after it ran. */
export async function startReferenceProfileWorker(deps: HubDeps, options: { name?: string } = {}): Promise<ReferenceProfileWorker> {
  const name = options.name ?? `${os.hostname()}:${process.pid}`;
  const workId = await deps.queue.work<ProfileJob>(QUEUES.monitorProfile, { pollingIntervalSeconds: 1, batchSize: 1 }, async ([job]) => {
    const status: ComputeOutcome = await computeReferenceProfile(deps, job!.data.modelVersionId);
    return { status };
  });
  deps.log.info(`reference profile worker ${name} is taking jobs`);
  return {
    name,
    async stop() {
      await deps.queue.offWork({ id: workId });
    },
  };
}
