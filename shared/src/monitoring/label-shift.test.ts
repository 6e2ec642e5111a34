import { describe, expect, it } from 'vitest';
import { gaussianSample as sample } from '../test-support/gaussian-classes';
import { argmaxRows } from './calibration';
import {
  SingularMatrixError,
  estimatePriorsBbse,
  estimatePriorsEm,
  invert,
  jointConfusion,
  predictedClassMix,
  reweightPosteriors,
} from './label-shift';

/** Four 2-D unit-variance Gaussian classes; posteriors are the exact Bayes posteriors under the source priors. */
const MEANS: [number, number][] = [
  [0, 0],
  [2.5, 0],
  [0, 2.5],
  [2.5, 2.5],
];
const K = MEANS.length;
const UNIFORM = [0.25, 0.25, 0.25, 0.25];
const TARGET = [0.55, 0.25, 0.15, 0.05];

const gaussianSample = (seed: number, n: number, priors: readonly number[], sourcePriors: readonly number[] = UNIFORM) => sample(MEANS, seed, n, priors, sourcePriors);

const maxAbsError = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe('EM prior adjustment (Saerens et al. 2002)', () => {
  it('recovers a known prior shift from uniform to [0.55, 0.25, 0.15, 0.05] within 0.02 on 20k rows', () => {
    const { probabilities } = gaussianSample(1, 20_000, TARGET);
    const result = estimatePriorsEm(probabilities, K, UNIFORM);
    expect(result.converged).toBe(true);
    expect(result.iterations).toBeLessThanOrEqual(100);
    expect(maxAbsError(result.priors, TARGET)).toBeLessThan(0.02);
    expect(result.priors.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    expect(maxAbsError(result.weights, TARGET.map((q) => q / 0.25))).toBeLessThan(0.08);
  });

  it('stays at the source priors when nothing shifted', () => {
    const { probabilities } = gaussianSample(2, 20_000, UNIFORM);
    expect(maxAbsError(estimatePriorsEm(probabilities, K, UNIFORM).priors, UNIFORM)).toBeLessThan(0.02);
  });

  it('reports non-convergence when stopped early', () => {
    const { probabilities } = gaussianSample(3, 2_000, TARGET);
    const result = estimatePriorsEm(probabilities, K, UNIFORM, { maxIterations: 2 });
    expect(result).toMatchObject({ converged: false, iterations: 2 });
  });

  it('names the argument it refuses', () => {
    expect(() => estimatePriorsEm(new Float64Array(0), K, UNIFORM)).toThrow(/probabilities is empty/);
    expect(() => estimatePriorsEm(new Float64Array(8), K, [])).toThrow(/sourcePriors is empty/);
    expect(() => estimatePriorsEm(new Float64Array(8), K, [0.5, 0.5, 0.5, 0.5])).toThrow(/sourcePriors sums to 2/);
  });
});

describe('posterior reweighting', () => {
  it('applies Bayes rule with new priors row by row', () => {
    const adjusted = reweightPosteriors(Float64Array.from([0.5, 0.5, 0.2, 0.8]), 2, [3, 1]);
    expect(Array.from(adjusted)).toEqual([0.75, 0.25, 0.6 / 1.4, 0.8 / 1.4].map((v) => expect.closeTo(v, 12)));
  });
});

describe('BBSE (Lipton et al. 2018)', () => {
  it('recovers the same known shift within 0.02 from a 20k-row source confusion and 20k target predictions', () => {
    const source = gaussianSample(4, 20_000, UNIFORM);
    const confusion = jointConfusion(argmaxRows(source.probabilities, K), source.labels, K);
    const target = gaussianSample(5, 20_000, TARGET);
    const mix = predictedClassMix(argmaxRows(target.probabilities, K), K);
    const result = estimatePriorsBbse(confusion, mix, K, { targetCount: 20_000 });
    expect(maxAbsError(result.priors, TARGET)).toBeLessThan(0.02);
    expect(result.priors.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    expect(result.illConditioned).toBe(false);
    expect(result.conditionNumber).toBeGreaterThan(1);
    expect(result.weightStandardErrors!.every((se) => se > 0 && se < 0.1)).toBe(true);
  });

  it('solves a 2-class system exactly', () => {
    // Source π = (0.5, 0.5), recalls 0.8 and 0.9: C = [[0.4, 0.05], [0.1, 0.45]] (row = predicted, column = true).
    // Target q = (0.8, 0.2): μ = (0.8·0.8 + 0.2·0.1, 0.8·0.2 + 0.2·0.9) = (0.66, 0.34).
    const result = estimatePriorsBbse([0.4, 0.05, 0.1, 0.45], [0.66, 0.34], 2);
    expect(Array.from(result.weights)).toEqual([expect.closeTo(1.6, 12), expect.closeTo(0.4, 12)]);
    expect(Array.from(result.priors)).toEqual([expect.closeTo(0.8, 12), expect.closeTo(0.2, 12)]);
    expect(result.clipped).toBe(false);
  });

  it('clips negative weights to 0 and renormalizes', () => {
    // μ beyond what C can produce: raw w has a negative entry.
    const result = estimatePriorsBbse([0.4, 0.05, 0.1, 0.45], [0.95, 0.05], 2);
    expect(result.rawWeights[1]).toBeLessThan(0);
    expect(result.clipped).toBe(true);
    expect(Array.from(result.priors)).toEqual([1, 0]);
  });

  it('refuses a singular confusion matrix (a class the model never predicts) with a clear error', () => {
    const confusion = [0.5, 0.5, 0, 0];
    expect(() => estimatePriorsBbse(confusion, [1, 0], 2)).toThrow(SingularMatrixError);
    expect(() => estimatePriorsBbse(confusion, [1, 0], 2)).toThrow(/confusion is singular/);
  });

  it('flags a nearly singular confusion matrix as ill-conditioned', () => {
    const result = estimatePriorsBbse([0.25, 0.24999, 0.25, 0.25001], [0.5, 0.5], 2);
    expect(result.illConditioned).toBe(true);
    expect(result.conditionNumber).toBeGreaterThan(1e4);
  });

  it('names the argument it refuses', () => {
    expect(() => estimatePriorsBbse([], [1], 1)).toThrow(/confusion is empty/);
    expect(() => estimatePriorsBbse([1, 0, 0, 0], [], 2)).toThrow(/targetMix is empty/);
    expect(() => jointConfusion([], [], 2)).toThrow(/predicted is empty/);
    expect(() => predictedClassMix([], 2)).toThrow(/predicted is empty/);
  });
});

describe('invert (LU with partial pivoting)', () => {
  it('inverts a matrix that needs a row swap', () => {
    const a = [0, 2, 1, 1, 1, 0, 2, 0, 3];
    const inverse = invert(a, 3);
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let j = 0; j < 3; j++) s += a[r * 3 + j]! * inverse[j * 3 + c]!;
        expect(s).toBeCloseTo(r === c ? 1 : 0, 12);
      }
    }
    // A x = (7, 3, 11) has x = (1, 2, 3).
    const x = [0, 1, 2].map((r) => inverse[r * 3]! * 7 + inverse[r * 3 + 1]! * 3 + inverse[r * 3 + 2]! * 11);
    expect(x).toEqual([1, 2, 3].map((v) => expect.closeTo(v, 12)));
  });

  it('calls a matrix singular when a pivot is below 1e-12 of its largest entry, not only when it is exactly 0', () => {
    expect(() => invert([1, 2, 2, 4], 2)).toThrow(SingularMatrixError);
    expect(() => invert([1, 1, 1, 1 + 1e-14], 2)).toThrow(/no usable pivot in column 1/);
    // A pivot of 1e-9 is usable: the inverse is large (about 1e9) but finite.
    expect(invert([1, 1, 1, 1 + 1e-9], 2)[0]).toBeGreaterThan(9e8);
    expect(() => invert([1, 2, 3], 2)).toThrow(/expected k² = 4/);
  });
});
