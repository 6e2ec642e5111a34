import { describe, expect, it } from 'vitest';
import { chiSquareSurvival, kolmogorovSurvival, logGamma, regularizedGammaP, regularizedGammaQ } from './special-functions';

function expectRelative(actual: number, expected: number, tolerance: number): void {
  const scale = Math.max(Math.abs(expected), Number.MIN_VALUE);
  expect(Math.abs(actual - expected) / scale, `${actual} vs ${expected}`).toBeLessThanOrEqual(tolerance);
}

describe('log-gamma', () => {
  // scipy 1.17.1: [scipy.special.gammaln(x) for x in [0.1, 0.5, 1, 1.5, 3.7, 10, 123.4, 1e4]]
  const cases: [number, number][] = [
    [0.1, 2.252712651734206],
    [0.5, 0.5723649429247],
    [1.5, -0.12078223763524526],
    [3.7, 1.428072326665388],
    [10, 12.801827480081469],
    [123.4, 469.3360974421906],
    [1e4, 82099.71749644238],
  ];
  it.each(cases)('ln Γ(%d) matches scipy to 1e-13 relative', (x, expected) => {
    expectRelative(logGamma(x), expected, 1e-13);
  });
  it('is exactly zero-ish at 1 and 2 and infinite at the poles', () => {
    expect(Math.abs(logGamma(1))).toBeLessThan(1e-15);
    expect(Math.abs(logGamma(2))).toBeLessThan(1e-15);
    expect(logGamma(0)).toBe(Number.POSITIVE_INFINITY);
    expect(logGamma(-3)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('regularized incomplete gamma', () => {
  // scipy 1.17.1: scipy.special.gammainc(a, x), scipy.special.gammaincc(a, x)
  const cases: [number, number, number, number][] = [
    [0.5, 0.1, 0.34527915398142317, 0.6547208460185768],
    [2.5, 1.0, 0.15085496391539038, 0.8491450360846096],
    [5, 20, 0.9999830552560699, 1.694474393006737e-5],
    [50, 45, 0.24680203440017026, 0.7531979655998298],
    [500, 480, 0.18628197319032458, 0.8137180268096754],
    [4.5, 60, 1.0, 1.336164776532522e-21],
    [0.1, 3, 0.9984347282528856, 0.0015652717471143507],
  ];
  it.each(cases)('P(%d, %d) and Q match scipy to 1e-10 relative', (a, x, p, q) => {
    expectRelative(regularizedGammaP(a, x), p, 1e-10);
    expectRelative(regularizedGammaQ(a, x), q, 1e-10);
  });
  it('has the limits 0 and 1 and refuses bad arguments by name', () => {
    expect(regularizedGammaP(3, 0)).toBe(0);
    expect(regularizedGammaQ(3, Number.POSITIVE_INFINITY)).toBe(0);
    expect(() => regularizedGammaP(0, 1)).toThrow(/a must be > 0/);
    expect(() => regularizedGammaQ(1, -1)).toThrow(/x must be >= 0/);
  });
});

describe('chi-square survival', () => {
  // scipy 1.17.1: scipy.stats.chi2.sf(x, k)
  const cases: [number, number, number][] = [
    [3.84, 1, 0.05004352124870519],
    [500, 10, 4.4147360999137545e-101],
    [11.07, 5, 0.050009618622405425],
    [230, 199, 0.06516081038245074],
    [0.5, 3, 0.9188914116546758],
  ];
  it.each(cases)('P(χ²_%d ≥ %d) matches scipy to 1e-10 relative', (x, k, expected) => {
    expectRelative(chiSquareSurvival(x, k), expected, 1e-10);
  });
  it('is 1 at 0, 0 at infinity, and refuses dof <= 0', () => {
    expect(chiSquareSurvival(0, 4)).toBe(1);
    expect(chiSquareSurvival(Number.POSITIVE_INFINITY, 4)).toBe(0);
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
