import { describe, expect, it } from 'vitest';
import { chiSquareSurvival, kolmogorovSurvival } from './special-functions';

function expectRelative(actual: number, expected: number, tolerance: number): void {
  const scale = Math.max(Math.abs(expected), Number.MIN_VALUE);
  expect(Math.abs(actual - expected) / scale, `${actual} vs ${expected}`).toBeLessThanOrEqual(tolerance);
}

describe('chi-square survival', () => {
  // scipy 1.17.1: scipy.stats.chi2.sf(x, k)
  const cases: [number, number, number][] = [
    [3.84, 1, 0.05004352124870519],
    [500, 10, 4.4147360999137545e-101],
    [11.07, 5, 0.050009618622405425],
    [230, 199, 0.06516081038245074],
    [0.5, 3, 0.9188914116546758],
    // chi2.sf(x, k) = scipy.special.gammaincc(k/2, x/2) exactly; these are gammaincc(a, x) for
    // (a, x) = (0.5, 0.1), (2.5, 1), (5, 20), (50, 45), (500, 480), (4.5, 60), (0.1, 3).
    [0.2, 1, 0.6547208460185768],
    [2, 5, 0.8491450360846096],
    [40, 10, 1.694474393006737e-5],
    [90, 100, 0.7531979655998298],
    [960, 1000, 0.8137180268096754],
    [120, 9, 1.336164776532522e-21],
    [6, 0.2, 0.0015652717471143507],
  ];
  it.each(cases)('P(χ² ≥ %d) with %d dof matches scipy to 1e-13 relative', (x, k, expected) => {
    expectRelative(chiSquareSurvival(x, k), expected, 1e-13);
  });
  it('is 1 at and below 0, 0 at infinity, NaN for NaN, and refuses dof <= 0', () => {
    expect(chiSquareSurvival(0, 4)).toBe(1);
    expect(chiSquareSurvival(-2, 4)).toBe(1);
    expect(chiSquareSurvival(Number.POSITIVE_INFINITY, 4)).toBe(0);
    expect(chiSquareSurvival(Number.NaN, 4)).toBeNaN();
    expect(() => chiSquareSurvival(1, 0)).toThrow(/dof/);
  });
});

describe('Kolmogorov survival', () => {
  // scipy 1.17.1: scipy.special.kolmogorov(l)
  const cases: [number, number][] = [
    [0.2, 0.999999999999495],
    [0.5, 0.9639452436648751],
    [0.8, 0.5441424115741981],
    [1.0, 0.26999967167735456],
    [1.2, 0.11224966667072497],
    [2, 0.0006709252557796953],
    [4, 2.532833109818835e-14],
  ];
  it.each(cases)('Q(%d) matches scipy to 1e-12 relative', (lambda, expected) => {
    expectRelative(kolmogorovSurvival(lambda), expected, 1e-12);
  });
  it('is 1 at and below 0', () => {
    expect(kolmogorovSurvival(0)).toBe(1);
    expect(kolmogorovSurvival(-1)).toBe(1);
  });
});
