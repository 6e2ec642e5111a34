import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../seeded-random';
import { SlidingMmdWindow, mmd2AgainstReference, mmd2FromSums, mmd2UnbiasedFromKernel, mmdPermutationTest, prepareMmdReference, rbfKernelMatrix, referenceKernelSum, sigmaMedian } from './mmd';

/** Gaussian rows [n, dim] (Box–Muller, both outputs used), the first coordinate shifted by `shift`. */
function gaussianRows(seed: number, n: number, dim: number, shift = 0): Float64Array {
  const random = mulberry32(seed);
  const rows = new Float64Array(n * dim);
  for (let i = 0; i < rows.length; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(1 - random()));
    const angle = 2 * Math.PI * random();
    rows[i] = radius * Math.cos(angle);
    if (i + 1 < rows.length) rows[i + 1] = radius * Math.sin(angle);
  }
  for (let i = 0; i < n; i++) rows[i * dim] = rows[i * dim]! + shift;
  return rows;
}

/** Brute-force unbiased MMD² straight from the definition, kernel evaluated pair by pair. */
function bruteMmd2(x: Float64Array, y: Float64Array, dim: number, sigmas: number[]): number {
  const k = (a: Float64Array, i: number, b: Float64Array, j: number): number => {
    let sq = 0;
    for (let c = 0; c < dim; c++) sq += (a[i * dim + c]! - b[j * dim + c]!) ** 2;
    return sigmas.reduce((s, sigma) => s + Math.exp(-sq / (2 * sigma * sigma)), 0) / sigmas.length;
  };
  const n = x.length / dim;
  const m = y.length / dim;
  let xx = 0;
  let yy = 0;
  let xy = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) xx += k(x, i, x, j);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) if (i !== j) yy += k(y, i, y, j);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) xy += k(x, i, y, j);
  return xx / (n * (n - 1)) + yy / (m * (m - 1)) - (2 * xy) / (n * m);
}

describe('MMD with an RBF kernel', () => {
  const dim = 3;
  const x = gaussianRows(1, 7, dim);
  const y = gaussianRows(2, 9, dim, 0.7);

  it('sigmaMedian follows alibi: sorted flattened pooled N×N distances at index N + (N² − N)//2 − 1', () => {
    const pooled = new Float64Array([...x, ...y]);
    const total = 16;
    const all: number[] = [];
    for (let i = 0; i < total; i++) {
      for (let j = 0; j < total; j++) {
        let sq = 0;
        for (let c = 0; c < dim; c++) sq += (pooled[i * dim + c]! - pooled[j * dim + c]!) ** 2;
        all.push(sq);
      }
    }
    all.sort((a, b) => a - b);
    const index = total + Math.floor((total * total - total) / 2) - 1;
    expect(sigmaMedian(x, y, dim)).toBe(Math.sqrt(0.5 * all[index]!));
  });

  it('the unbiased estimator matches a brute-force O(n²) computation to 1e-12 (pooled kernel, permutation test, reference form)', () => {
    const sigma = sigmaMedian(x, y, dim);
    const sigmas = [0.5, 1, 2].map((s) => s * sigma);
    const expected = bruteMmd2(x, y, dim, sigmas);
    const kernel = rbfKernelMatrix(new Float64Array([...x, ...y]), dim, sigma);
    expect(Math.abs(mmd2UnbiasedFromKernel(kernel, 16, 7) - expected)).toBeLessThan(1e-12);
    const test = mmdPermutationTest(x, y, dim, { permutations: 20 });
    expect(Math.abs(test.mmd2 - expected)).toBeLessThan(1e-12);
    expect(Math.abs(mmdPermutationTest(y, x, dim, { permutations: 20 }).mmd2 - expected)).toBeLessThan(1e-12);
    const reference = prepareMmdReference(y, dim, { sigma });
    expect(Math.abs(mmd2AgainstReference(reference, x) - expected)).toBeLessThan(1e-12);
    const sums = Float64Array.from({ length: 7 }, (_, j) => referenceKernelSum(reference, x.subarray(j * dim, (j + 1) * dim)));
    expect(Math.abs(mmd2AgainstReference(reference, x, sums) - expected)).toBeLessThan(1e-12);
    const single = bruteMmd2(x, y, dim, [1.3]);
    expect(Math.abs(mmdPermutationTest(x, y, dim, { sigma: 1.3, multipliers: [1], permutations: 5 }).mmd2 - single)).toBeLessThan(1e-12);
    expect(mmd2FromSums(reference, 7, 0, 0)).toBe(reference.meanReferenceKernel);
  });

  // 300 repeats, not 100: with these seeds the first 100 gave P(p < 0.05) = 0.11 (a ~1% binomial tail); 1,000 gave 0.034.
  it('is near 0 for one distribution and its permutation p-values are roughly uniform over 300 seeded repeats', () => {
    const started = performance.now();
    const pValues: number[] = [];
    const statistics: number[] = [];
    for (let repeat = 0; repeat < 300; repeat++) {
      const result = mmdPermutationTest(gaussianRows(1000 + repeat, 100, 4), gaussianRows(5000 + repeat, 100, 4), 4, { permutations: 200, seed: repeat });
      pValues.push(result.pValue);
      statistics.push(result.mmd2);
    }
    const below = (level: number): number => pValues.filter((p) => p < level).length / pValues.length;
    const meanStatistic = statistics.reduce((s, v) => s + v, 0) / statistics.length;
    console.info(`MMD null: P(p<0.05) = ${below(0.05)}, P(p<0.5) = ${below(0.5)}, mean MMD² ${meanStatistic.toExponential(2)}, ${(performance.now() - started).toFixed(0)} ms for 300 tests`);
    expect(Math.abs(meanStatistic)).toBeLessThan(0.005);
    expect(below(0.05)).toBeGreaterThanOrEqual(0.01);
    expect(below(0.05)).toBeLessThanOrEqual(0.1);
    expect(below(0.5)).toBeGreaterThan(0.35);
    expect(below(0.5)).toBeLessThan(0.65);
  });

  it('detects a mean shift of 0.5 sd in 16-d with n = m = 200 (p < 0.01)', () => {
    const started = performance.now();
    const result = mmdPermutationTest(gaussianRows(7, 200, 16), gaussianRows(8, 200, 16, 0.5), 16, { permutations: 200, seed: 1 });
    console.info(`MMD shift 0.5 sd, 16-d, 200 vs 200: MMD² ${result.mmd2.toExponential(3)}, p ${result.pValue}, ${(performance.now() - started).toFixed(0)} ms`);
    expect(result.pValue).toBeLessThan(0.01);
  });

  it('the sliding window matches the direct statistic to 1e-9 after 1,000 pushes', () => {
    const reference = prepareMmdReference(gaussianRows(21, 200, 4), 4);
    const sliding = new SlidingMmdWindow(reference, 50);
    const stream = gaussianRows(22, 1000, 4, 0.2);
    const started = performance.now();
    let worst = 0;
    for (let t = 0; t < 1000; t++) {
      sliding.push(stream.subarray(t * 4, t * 4 + 4));
      if (t >= 1 && (t < 60 || t % 97 === 0 || t === 999)) {
        const direct = mmd2AgainstReference(reference, stream.subarray(Math.max(0, t - 49) * 4, (t + 1) * 4));
        worst = Math.max(worst, Math.abs(sliding.mmd2() - direct));
      }
    }
    expect(sliding.size).toBe(50);
    expect(Array.from(sliding.window())).toEqual(Array.from(stream.subarray(950 * 4)));
    console.info(`sliding MMD: worst |incremental − direct| ${worst.toExponential(2)}, ${(performance.now() - started).toFixed(0)} ms`);
    expect(worst).toBeLessThan(1e-9);
  });

  it('is deterministic for a seed', () => {
    const a = gaussianRows(3, 30, 2);
    const b = gaussianRows(4, 30, 2, 0.3);
    expect(mmdPermutationTest(a, b, 2, { seed: 9 })).toEqual(mmdPermutationTest(a, b, 2, { seed: 9 }));
  });

  it('a sliding window rebuilt from its state continues with bit-identical values', () => {
    const dim = 3;
    const reference = prepareMmdReference(gaussianRows(5, 60, dim), dim);
    const points = gaussianRows(6, 400, dim, 0.2);
    const a = new SlidingMmdWindow(reference, 40);
    for (let i = 0; i < 170; i++) a.push(points.slice(i * dim, (i + 1) * dim));
    const b = SlidingMmdWindow.fromState(reference, 40, a.state());
    for (let i = 170; i < 400; i++) {
      a.push(points.slice(i * dim, (i + 1) * dim));
      b.push(points.slice(i * dim, (i + 1) * dim));
      expect(b.mmd2()).toBe(a.mmd2());
    }
    expect(() => SlidingMmdWindow.fromState(reference, 10, a.state())).toThrow(/more than capacity = 10/);
  });
});
