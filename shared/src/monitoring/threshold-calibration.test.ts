import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../seeded-random';
import { SlidingMmdWindow, prepareMmdReference, rbfKernelMatrix, referenceKernelSum, sigmaMedianOf } from './mmd';
import { kMeansClusters, NullStreamSampler } from './null-streams';
import { TableMmdWindow } from './threshold-calibration';

function gaussianRows(seed: number, n: number, dim: number): Float64Array {
  const random = mulberry32(seed);
  return Float64Array.from({ length: n * dim }, () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()));
}

describe('simulation tables', () => {
  it('TableMmdWindow gives the MMD² SlidingMmdWindow gives for the same points', () => {
    const dim = 4;
    const reference = prepareMmdReference(gaussianRows(1, 80, dim), dim);
    const pool = gaussianRows(2, 60, dim);
    const sigma = sigmaMedianOf(reference.rows, dim);
    const kernel = rbfKernelMatrix(pool, dim, sigma);
    const sums = Float64Array.from({ length: 60 }, (_, i) => referenceKernelSum(reference, pool.subarray(i * dim, (i + 1) * dim)));
    const table = new TableMmdWindow(kernel, 60, sums, 25);
    const sliding = new SlidingMmdWindow(reference, 25);
    const random = mulberry32(3);
    for (let t = 0; t < 200; t++) {
      const row = Math.floor(random() * 60);
      table.push(row);
      sliding.push(pool.slice(row * dim, (row + 1) * dim));
      if (t >= 1) expect(table.mmd2(reference)).toBeCloseTo(sliding.mmd2(), 12);
    }
  });
});

describe('null streams', () => {
  it('k-means puts rows of well separated groups together', () => {
    const dim = 2;
    const rows = gaussianRows(4, 300, dim);
    for (let i = 0; i < 300; i++) rows[i * dim] = rows[i * dim]! + 20 * (i % 3);
    const clusters = kMeansClusters(rows, 300, dim, 3, 5);
    for (let i = 3; i < 300; i++) expect(clusters[i]).toBe(clusters[i % 3]);
  });

  it('fills streams of `horizon` admitted rows, in sessions from one cluster about as often as asked', () => {
    const clusters = Int32Array.from({ length: 400 }, (_, i) => i % 20);
    const sampler = new NullStreamSampler(clusters, { horizon: 300, window: 300, burstWindow: 300, deviceCap: 0.1, devices: 20, meanSessionLength: 5, clusterSessionShare: 1 });
    const random = mulberry32(6);
    let same = 0;
    let pairs = 0;
    for (let s = 0; s < 20; s++) {
      const stream = sampler.stream(random);
      expect(stream.length).toBe(300);
      for (let t = 1; t < stream.length; t++, pairs++) if (clusters[stream[t]!] === clusters[stream[t - 1]!]) same++;
    }
    // With every session from one cluster, consecutive admitted rows share a cluster far more often than 1 in 20.
    expect(same / pairs).toBeGreaterThan(0.3);
    const uniform = new NullStreamSampler(clusters, { horizon: 300, window: 300, burstWindow: 300, deviceCap: 0.1, devices: 20, meanSessionLength: 5, clusterSessionShare: 0 });
    let uniformSame = 0;
    const stream = uniform.stream(random);
    for (let t = 1; t < stream.length; t++) if (clusters[stream[t]!] === clusters[stream[t - 1]!]) uniformSame++;
    expect(uniformSame / 299).toBeLessThan(0.12);
  });
});
