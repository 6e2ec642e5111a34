import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestHub, createTestHub } from '../../test/test-hub';
import { fashionSampleVersion, waitForRun } from '../../test/training-helpers';
import { MAX_SWEEP_RUNS, SWEEP_PARAMETERS, gridPoints } from './sweep.service';
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
    expect((await engineer.runs.list({ project: 'fashion' })).runs.length).toBe(0); // a bad point queues nothing

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

  it('refuses a value the database cannot store even where a random sweep does not draw it, and names that are not parameters', async () => {
    const engineer = await hub.as('engineer');
    // One sample (seed 42 draws index 1): the undrawn values were stored with the sweep unchecked, and a NUL or a lone
    // surrogate made the insert fail (a 500 with the query's text).
    for (const [bad, problem] of [
      ['\u0000', 'must not contain NUL (\\u0000) characters'],
      ['\ud800', 'must be well-formed Unicode (no lone surrogate characters)'],
      [{ nested: 1 }, 'must be a finite number, a boolean or text of at most 64 characters (no NUL, no lone surrogates)'],
    ] as const) {
      const sweep = engineer.runs.sweep({ project: 'fashion', datasetVersion: versionId, space: { batchSize: [32, 64, bad] }, strategy: 'random', samples: 1 });
      await expect(sweep).rejects.toThrow(`space.batchSize.2: ${problem}`);
    }
    // `key in SWEEP_PARAMETERS` took inherited names, so train.toString or train.constructor was set from the space.
    for (const key of ['toString', 'constructor', 'hasOwnProperty']) {
      await expect(engineer.runs.sweep({ project: 'fashion', datasetVersion: versionId, space: { [key]: [1] } })).rejects.toThrow(`space.${key}: not a sweep parameter; valid parameters: learningRate`);
    }
  });

  it('refuses a huge space by the product of its list lengths at once, without listing it', async () => {
    const engineer = await hub.as('engineer');
    // 64 values for each of the 9 parameters: 64^9 = 1.8e16 points. Listing them blocked the hub, then crashed it out of memory.
    const values = Array.from({ length: 64 }, (_, i) => i + 1);
    const huge = Object.fromEntries(Object.keys(SWEEP_PARAMETERS).map((key) => [key, values]));
    const started = performance.now();
    await expect(engineer.runs.sweep({ project: 'fashion', datasetVersion: versionId, space: huge })).rejects.toThrow(
      `space has 18014398509481984 points (64 x 64 x 64 x 64 x 64 x 64 x 64 x 64 x 64); a grid sweep may queue at most ${MAX_SWEEP_RUNS} runs (use strategy random with samples)`,
    );
    await expect(engineer.runs.sweep({ project: 'fashion', datasetVersion: versionId, space: huge, strategy: 'random', samples: 4 })).rejects.toThrow(
      /^space has 18014398509481984 points \(64 x .* x 64\); a random sweep draws from at most 1000000$/,
    );
    await expect(engineer.runs.sweep({ project: 'fashion', datasetVersion: versionId, space: { learningRate: Array.from({ length: 100_000 }, () => 0.1) } })).rejects.toThrow(
      'space.learningRate: 100000 values; a parameter may list at most 64',
    );
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('draws a random sample from a large space by index, reproducibly for a seed', async () => {
    const engineer = await hub.as('engineer');
    const space = { learningRate: [0.1, 0.01, 0.001], batchSize: [16, 32, 64], epochs: [1, 2, 3], seed: Array.from({ length: 64 }, (_, i) => i + 1) };
    const sweep = (seed: number) => engineer.runs.sweep({ project: 'fashion', datasetVersion: versionId, space, strategy: 'random', samples: 5, train: { seed } });
    const first = (await sweep(7)).runs.map((r) => r.train);
    expect(first).toHaveLength(5);
    expect(new Set(first.map((t) => JSON.stringify(t))).size).toBe(5);
    expect((await sweep(7)).runs.map((r) => r.train)).toEqual(first);
    expect(gridPoints(space)).toHaveLength(3 * 3 * 3 * 64);
  });
});
