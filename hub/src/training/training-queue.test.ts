import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, type TestHub, createTestHub } from '../../test/test-hub';
import { fashionSampleVersion, waitForRun } from '../../test/training-helpers';
import { runs } from '../db/schema';
import { QUEUES, openJobQueue } from '../jobs/job-queue';
import { recoverStalledRuns, startTrainingWorker } from './training-worker';

describe.each(DATABASES)('training jobs on the queue, $kind', ({ kind, skip }) => {
  let hub: TestHub;
  let versionId: string;
  beforeAll(async () => {
    if (skip) return;
    hub = await createTestHub(kind);
    versionId = await fashionSampleVersion(hub);
  });
  afterAll(() => hub?.close());

  it.skipIf(skip)("retries the job of a worker that died mid-run, on another worker", async () => {
    const engineer = await hub.as('engineer');
    const run = await engineer.runs.create({ project: 'fashion', datasetVersion: versionId, train: { epochs: 1 } });
    // A worker takes the job, marks the run running, and dies: no more heartbeats.
    const [job] = await hub.deps.queue.fetch<{ runId: string }>(QUEUES.train);
    expect(job!.data.runId).toBe(run.id);
    await hub.deps.db
      .update(runs)
      .set({ status: 'running', attempts: 1, worker: 'dead-worker', heartbeatAt: new Date(Date.now() - 120_000) })
      .where(eq(runs.id, run.id));

    expect(await recoverStalledRuns(hub.deps)).toBe(1);
    const worker = await startTrainingWorker(hub.deps, { name: 'rescuer' });
    try {
      const finished = await waitForRun(hub, run.id, ['succeeded', 'failed']);
      expect(finished).toMatchObject({ status: 'succeeded', attempts: 2 });
      expect(finished.lineage).toMatchObject({ worker: 'rescuer', attempt: 2 });
      expect(finished.epochs).toHaveLength(1);
    } finally {
      await worker.stop();
    }
  });

  it.skipIf(skip)('presumes a worker lost after the staleness it is given, and not before', async () => {
    const engineer = await hub.as('engineer');
    const run = await engineer.runs.create({ project: 'fashion', datasetVersion: versionId, train: { epochs: 1 } });
    await hub.deps.queue.fetch<{ runId: string }>(QUEUES.train);
    // Silent for 20 s: under the default staleness (30 s) still alive; under 15 s lost.
    await hub.deps.db.update(runs).set({ status: 'running', attempts: 1, worker: 'quiet-worker', heartbeatAt: new Date(Date.now() - 20_000) }).where(eq(runs.id, run.id));
    expect(await recoverStalledRuns(hub.deps)).toBe(0);
    expect(await recoverStalledRuns(hub.deps, 15_000)).toBe(1);
    expect((await engineer.runs.get({ runId: run.id })).status).toBe('queued');
    await engineer.runs.cancel({ runId: run.id });
  });

  it.skipIf(skip)('runs each job once when two workers share the database', async () => {
    const engineer = await hub.as('engineer');
    const otherQueue = await openJobQueue(hub.queueConnection);
    const first = await startTrainingWorker(hub.deps, { name: 'worker-a' });
    const second = await startTrainingWorker({ ...hub.deps, queue: otherQueue }, { name: 'worker-b' });
    try {
      const queued = await Promise.all([1, 2, 3].map((seed) => engineer.runs.create({ project: 'fashion', datasetVersion: versionId, train: { epochs: 1, seed } })));
      for (const run of queued) {
        const finished = await waitForRun(hub, run.id, ['succeeded', 'failed']);
        expect(finished).toMatchObject({ status: 'succeeded', attempts: 1 });
        const job = await hub.deps.queue.getJobById(QUEUES.train, (await hub.deps.db.select({ jobId: runs.jobId }).from(runs).where(eq(runs.id, run.id)))[0]!.jobId!);
        expect(job).toMatchObject({ state: 'completed', retryCount: 0 });
      }
    } finally {
      await first.stop();
      await second.stop();
      await otherQueue.stop({ graceful: false, wait: true });
    }
  });
});
