import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestHub, createTestHub } from '../../test/test-hub';
import { fashionSampleVersion, waitForRun } from '../../test/training-helpers';
import { QUEUES } from '../jobs/job-queue';
import { jobDuration, trainingImages, trainingImagesPerSecond } from '../metrics';
import { startTrainingWorker } from './training-worker';

const valueOf = async (metric: { get(): Promise<{ values: { value: number; labels: object; metricName?: string }[] }> }, match: (v: { labels: object; metricName?: string }) => boolean = () => true) =>
  (await metric.get()).values.filter(match).reduce((sum, v) => sum + v.value, 0);

describe('training metrics', () => {
  let hub: TestHub;
  let versionId: string;
  beforeAll(async () => {
    hub = await createTestHub('pglite');
    versionId = await fashionSampleVersion(hub);
  });
  afterAll(() => hub?.close());

  it("counts a run's trained images and the train job's duration, and reads 0 images/s once it ends", async () => {
    const trainedBefore = await valueOf(trainingImages);
    const isTrainCount = (v: { labels: object; metricName?: string }) =>
      v.metricName === 'edgeloop_job_duration_seconds_count' && JSON.stringify(v.labels) === JSON.stringify({ queue: QUEUES.train, outcome: 'ok' });
    const jobsBefore = await valueOf(jobDuration, isTrainCount);
    const worker = await startTrainingWorker(hub.deps, { name: 'metrics' });
    try {
      const engineer = await hub.as('engineer');
      const run = await engineer.runs.create({ project: 'fashion', datasetVersion: versionId, train: { epochs: 2 } });
      const finished = await waitForRun(hub, run.id, ['succeeded', 'failed']);
      expect(finished.status).toBe('succeeded');
      // The run's log names its training split: "train <n>, val <n>, test <n> images".
      const split = finished.logs.map((l) => /^train (\d+), val \d+, test \d+ images$/.exec(l.line)).find(Boolean);
      expect(split, finished.logs.map((l) => l.line).join('\n')).toBeTruthy();
      expect((await valueOf(trainingImages)) - trainedBefore).toBe(2 * Number(split![1]));
      // The job ends after the run row says succeeded: wait for its duration to be recorded, then the job is over.
      for (let i = 0; i < 200 && (await valueOf(jobDuration, isTrainCount)) === jobsBefore; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect((await valueOf(jobDuration, isTrainCount)) - jobsBefore).toBe(1);
      expect(await valueOf(trainingImagesPerSecond)).toBe(0);
    } finally {
      await worker.stop();
    }
  });
});
