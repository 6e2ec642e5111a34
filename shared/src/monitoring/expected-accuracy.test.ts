import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../seeded-random';
import { gaussianSample as sample } from '../test-support/gaussian-classes';
import { expectedAccuracy, labelShiftCorrectedAccuracy } from './expected-accuracy';
import { estimatePriorsEm } from './label-shift';

/** Four 2-D unit-variance Gaussian classes at unequal distances, so a prior shift changes accuracy. */
const MEANS: [number, number][] = [
  [0, 0],
  [3, 0],
  [0, 3],
  [1, 1],
];
const K = MEANS.length;
const UNIFORM = [0.25, 0.25, 0.25, 0.25];
const TARGET = [0.55, 0.25, 0.15, 0.05];

const gaussianSample = (seed: number, n: number, priors: readonly number[]) => sample(MEANS, seed, n, priors);

describe('label-free accuracy estimation', () => {
  it('CBPE is within 1 point of the true accuracy without shift', () => {
    const { probabilities, accuracy } = gaussianSample(21, 20_000, UNIFORM);
    const result = expectedAccuracy(probabilities, K);
    expect(Math.abs(result.estimate - accuracy)).toBeLessThan(0.01);
    expect(result.count).toBe(20_000);
    expect(result.standardError).toBeGreaterThan(0);
    expect(result.standardError).toBeLessThan(0.005);
    expect(result.populationStandardError).toBeGreaterThan(0);
  });

  it('the label-shift-corrected estimate is within 1 point of the true accuracy under a prior shift', () => {
    const { probabilities, accuracy } = gaussianSample(22, 20_000, TARGET);
    const { weights } = estimatePriorsEm(probabilities, K, UNIFORM);
    const corrected = labelShiftCorrectedAccuracy(probabilities, K, weights);
    const withTrueWeights = labelShiftCorrectedAccuracy(probabilities, K, TARGET.map((q) => q / 0.25));
    const naive = expectedAccuracy(probabilities, K);
    expect(Math.abs(corrected.estimate - accuracy)).toBeLessThan(0.01);
    expect(Math.abs(withTrueWeights.estimate - accuracy)).toBeLessThan(0.01);
    // Uncorrected CBPE is biased here: the posteriors still assume uniform priors.
    expect(Math.abs(naive.estimate - accuracy)).toBeGreaterThan(0.02);
  });

  it('has a standard error that matches the spread of the realized accuracy over windows of 300', () => {
    const { probabilities } = gaussianSample(23, 300, UNIFORM);
    const { estimate, standardError } = expectedAccuracy(probabilities, K);
    const random = mulberry32(99);
    const realized: number[] = [];
    for (let trial = 0; trial < 2_000; trial++) {
      let correct = 0;
      for (let i = 0; i < 300; i++) {
        const predicted = [0, 1, 2, 3].reduce((b, c) => (probabilities[i * K + c]! > probabilities[i * K + b]! ? c : b));
        if (random() < probabilities[i * K + predicted]!) correct++;
      }
      realized.push(correct / 300);
    }
    const mean = realized.reduce((a, b) => a + b) / realized.length;
    const sd = Math.sqrt(realized.reduce((s, a) => s + (a - mean) ** 2, 0) / (realized.length - 1));
    expect(mean).toBeCloseTo(estimate, 2);
    expect(Math.abs(sd / standardError - 1)).toBeLessThan(0.1);
  });

  it('uses the given predicted classes and equal weights leave CBPE unchanged', () => {
    const p = Float64Array.from([0.7, 0.3, 0.4, 0.6]);
    expect(expectedAccuracy(p, 2).estimate).toBeCloseTo(0.65, 12);
    expect(expectedAccuracy(p, 2, [1, 1]).estimate).toBeCloseTo(0.45, 12);
    expect(labelShiftCorrectedAccuracy(p, 2, [2, 2]).estimate).toBeCloseTo(0.65, 12);
  });

  it('names the argument it refuses', () => {
    expect(() => expectedAccuracy(new Float64Array(0), 2)).toThrow(/probabilities is empty/);
    expect(() => labelShiftCorrectedAccuracy(new Float64Array(2), 2, [])).toThrow(/weights is empty/);
    expect(() => labelShiftCorrectedAccuracy(new Float64Array(2), 2, [1, -1])).toThrow(/weights\[1\]/);
    expect(() => expectedAccuracy(new Float64Array(2), 2, [5])).toThrow(/predicted\[0\] = 5/);
  });
});
