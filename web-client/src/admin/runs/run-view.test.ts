import { referenceCnnConfigSchema, trainConfigSchema } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import { formatDuration, gridSize, paramRows, parseSweepValues, runPhase, runSeconds } from './run-view';

const training = { epoch: 3, epochs: 15, step: 120, steps: 469, loss: 0.4, imagesPerSecond: 2000 };

describe('a run in words', () => {
  it('says waiting, starting, loading with counts, loaded, then epoch and step, then finishing', () => {
    expect(runPhase({ status: 'queued', progress: null, loading: null })).toEqual({ kind: 'waiting', label: 'Queued: waiting for a free worker', done: null });
    expect(runPhase({ status: 'running', progress: null, loading: null }).kind).toBe('starting');
    const loading = runPhase({ status: 'running', progress: null, loading: { done: 12_345, total: 70_000, fromCache: false, seconds: null } });
    expect(loading).toEqual({ kind: 'loading', label: 'Loading 12,345 / 70,000 images', done: 12_345 / 70_000 });
    const loaded = runPhase({ status: 'running', progress: null, loading: { done: 70_000, total: 70_000, fromCache: false, seconds: 98 } });
    expect(loaded).toEqual({ kind: 'starting', label: 'Loaded 70,000 images in 1 min 38 s · starting training', done: null });
    const epoch = runPhase({ status: 'running', progress: training, loading: { done: 70_000, total: 70_000, fromCache: true, seconds: 0.2 } });
    expect(epoch).toEqual({ kind: 'training', label: 'Epoch 3/15 · step 120/469', done: (2 * 469 + 120) / (15 * 469) });
    expect(runPhase({ status: 'running', progress: { ...training, epoch: 15, step: 469 }, loading: null }).kind).toBe('finishing');
    expect(runPhase({ status: 'running', progress: training, loading: null, cancelRequested: true }).label).toBe('Epoch 3/15 · step 120/469 (cancelling)');
    expect(runPhase({ status: 'succeeded', progress: training, loading: null })).toEqual({ kind: 'succeeded', label: 'Succeeded', done: null });
  });

  it('says durations as a person would', () => {
    expect(formatDuration(4.25)).toBe('4.3 s');
    expect(formatDuration(45)).toBe('45 s');
    expect(formatDuration(252)).toBe('4 min 12 s');
    expect(formatDuration(7500)).toBe('2 h 5 min');
    expect(runSeconds({ startedAt: '2026-11-30T10:00:00Z', finishedAt: '2026-11-30T10:01:30Z' })).toBe(90);
    expect(runSeconds({ startedAt: null, finishedAt: null })).toBeNull();
  });
});

describe('runs side by side', () => {
  const run = (train: object, model: object = {}) => ({
    datasetVersionId: 'ab'.repeat(32),
    model: referenceCnnConfigSchema.parse({ architecture: 'reference-cnn', numClasses: 10, ...model }),
    train: trainConfigSchema.parse(train),
  });

  it('lists every parameter once per run and marks only the rows that differ', () => {
    const rows = paramRows([run({ learningRate: 0.001 }), run({ learningRate: 0.003 }, { denseUnits: 64 })]);
    expect(rows.filter((r) => r.differs).map((r) => [r.name, r.values])).toEqual([
      ['Dense units', ['128', '64']],
      ['Learning rate', ['0.001', '0.003']],
    ]);
    expect(rows.find((r) => r.name === 'Filters')).toMatchObject({ values: ['32 × 64', '32 × 64'], differs: false });
    // MobileNet-only fields are left out when no run has them.
    expect(rows.some((r) => r.name === 'Width multiplier (α)')).toBe(false);
  });
});

describe('a sweep as typed', () => {
  it('reads numbers separated by commas or spaces, once each, and names what is not a number', () => {
    expect(parseSweepValues('0.001, 0.003 0.01,0.001')).toEqual({ values: [0.001, 0.003, 0.01], error: null });
    expect(parseSweepValues('1, two')).toEqual({ values: [], error: '"two" is not a number' });
    expect(parseSweepValues(' ')).toEqual({ values: [], error: 'give at least one value' });
  });

  it('counts the runs of a grid', () => {
    expect(gridSize([3, 2])).toEqual({ runs: 6, words: '3 × 2 = 6' });
    expect(gridSize([4])).toEqual({ runs: 4, words: '4' });
  });
});
