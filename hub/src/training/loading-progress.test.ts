import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestHub, createTestHub } from '../../test/test-hub';
import { fashionSampleVersion, waitForRun } from '../../test/training-helpers';
import { loadTrainingData } from './dataset-loader';
import { preprocessingFor } from './run.service';
import { validateModelConfig } from '@edgeloop/training';
import { startTrainingWorker } from './training-worker';

/** The shipped sample: 2,500 train and 500 test images. */
const SAMPLE_IMAGES = 3_000;

describe('a run reports the loading of its dataset version', () => {
  let hub: TestHub;
  let versionId: string;
  beforeAll(async () => {
    hub = await createTestHub('pglite');
    versionId = await fashionSampleVersion(hub);
  }, 120_000);
  afterAll(() => hub?.close());

  it('counts images from 0 to all as they are decoded, then reads them at once from the local cache', async () => {
    // Another image size than the training below uses, so this decodes instead of reading that run's cache.
    const preprocessing = preprocessingFor(validateModelConfig({ architecture: 'reference-cnn', numClasses: 10, inputShape: [20, 20, 1] }));
    const heard: { done: number; total: number; fromCache: boolean }[] = [];
    await loadTrainingData(hub.deps, { project: 'fashion', versionId, preprocessing }, () => {}, (loaded) => heard.push(loaded));
    expect(heard[0]).toEqual({ done: 0, total: SAMPLE_IMAGES, fromCache: false });
    expect(heard.at(-1)).toEqual({ done: SAMPLE_IMAGES, total: SAMPLE_IMAGES, fromCache: false });
    expect(heard.map((h) => h.done)).toEqual(Array.from({ length: SAMPLE_IMAGES + 1 }, (_, i) => i));

    const again: typeof heard = [];
    await loadTrainingData(hub.deps, { project: 'fashion', versionId, preprocessing }, () => {}, (loaded) => again.push(loaded));
    expect(again).toEqual([{ done: SAMPLE_IMAGES, total: SAMPLE_IMAGES, fromCache: true }]);
  });

  it('keeps the loading, with its count and time, in the run beside the training progress, the same in the list and the run', async () => {
    const engineer = await hub.as('engineer');
    const queued = await engineer.runs.create({ project: 'fashion', datasetVersion: versionId, train: { epochs: 1, batchSize: 256 } });
    expect(queued).toMatchObject({ status: 'queued', loading: null, progress: null });
    const worker = await startTrainingWorker(hub.deps, { name: 'loader-test' });
    try {
      const run = await waitForRun(hub, queued.id, ['succeeded', 'failed']);
      expect(run.status, run.error ?? '').toBe('succeeded');
      expect(run.loading).toMatchObject({ done: SAMPLE_IMAGES, total: SAMPLE_IMAGES, fromCache: false });
      expect(run.loading!.seconds).toBeGreaterThan(0);
      expect(run.progress).toMatchObject({ epoch: 1, epochs: 1 });
      expect(run.progress!.step).toBe(run.progress!.steps);
      const listed = (await engineer.runs.list({ project: 'fashion' })).runs.find((r) => r.id === run.id)!;
      expect({ status: listed.status, loading: listed.loading, progress: listed.progress }).toEqual({ status: run.status, loading: run.loading, progress: run.progress });
    } finally {
      await worker.stop();
    }
  }, 240_000);
});
