import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestHub, createTestHub } from '../../test/test-hub';
import { fashionSampleVersion, waitForRun } from '../../test/training-helpers';
import { gridPoints } from './sweep.service';
import { startTrainingWorker } from './training-worker';

describe('hyperparameter sweeps', () => {
  let hub: TestHub;
  let versionId: string;
  beforeAll(async () => {
    hub = await createTestHub('pglite');
    versionId = await fashionSampleVersion(hub);
  });
  afterAll(() => hub?.close());

  it('expands a grid in a stable order', () => {
    expect(gridPoints({ learningRate: [0.1, 0.01], batchSize: [32, 64] })).toEqual([
      { learningRate: 0.1, batchSize: 32 },
      { learningRate: 0.1, batchSize: 64 },
      { learningRate: 0.01, batchSize: 32 },
      { learningRate: 0.01, batchSize: 64 },
    ]);
  });

  it('queues one run per point and the chooser ranks them by the named metric', async () => {
    const engineer = await hub.as('engineer');
    await expect(engineer.runs.sweep({ project: 'fashion', datasetVersion: versionId, space: { momentum: [0.9] } })).rejects.toThrow(/space.momentum: not a sweep parameter; valid parameters: learningRate, batchSize/);
    await expect(engineer.runs.sweep({ project: 'fashion', datasetVersion: versionId, space: { learningRate: [0.001, -1] } })).rejects.toThrow(/learningRate must be > 0/);
    expect((await engineer.runs.list({ project: 'fashion' })).length).toBe(0); // a bad point queues nothing

    const sweep = await engineer.runs.sweep({ project: 'fashion', datasetVersion: versionId, train: { epochs: 1 }, space: { learningRate: [0.003, 0.0001] }, metric: 'valAccuracy' });
    expect(sweep.runs.map((r) => r.train.learningRate)).toEqual([0.003, 0.0001]);
    const worker = await startTrainingWorker(hub.deps);
    try {
      for (const run of sweep.runs) await waitForRun(hub, run.id, ['succeeded', 'failed']);
    } finally {
      await worker.stop();
    }
    const best = await (await hub.as('ci')).runs.sweepBest({ project: 'fashion', sweepId: sweep.sweepId });
    expect(best.pending).toBe(0);
    expect(best.ranking).toHaveLength(2);
    expect(best.ranking[0]!.value).toBeGreaterThanOrEqual(best.ranking[1]!.value);
    expect(best.best!.id).toBe(best.ranking[0]!.runId);
    const byLoss = await engineer.runs.sweepBest({ project: 'fashion', sweepId: sweep.sweepId, metric: 'valLoss' });
    expect(byLoss.ranking[0]!.value).toBeLessThanOrEqual(byLoss.ranking[1]!.value);
  });
});
