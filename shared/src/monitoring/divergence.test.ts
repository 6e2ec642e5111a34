import { describe, expect, it } from 'vitest';
import { jensenShannonDistance, normalizePair, totalVariationDistance } from './divergence';

function expectRelative(actual: number, expected: number, tolerance: number): void {
  expect(Math.abs(actual - expected) / Math.abs(expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(tolerance);
}

describe('Jensen–Shannon distance (base 2)', () => {
  // scipy 1.17.1: scipy.spatial.distance.jensenshannon(np.array(p, float), np.array(q, float), base=2)
  const cases: [number[], number[], number][] = [
    [[1, 0, 0], [0, 1, 0], 1.0],
    [[10, 20, 30, 40], [40, 30, 20, 10], 0.3918681606471551],
    [[5, 0, 3, 2], [1, 4, 0, 5], 0.7091551836567035],
  ];
  it.each(cases)('%j vs %j matches scipy to 1e-12', (p, q, expected) => {
    expectRelative(jensenShannonDistance(p, q), expected, 1e-12);
    expectRelative(jensenShannonDistance(q, p), expected, 1e-12);
  });

  it('smooths zero counts by adding the pseudo-count to every class', () => {
    // scipy: jensenshannon([5.5, 0.5, 3.5, 2.5], [1.5, 4.5, 0.5, 5.5], base=2)
    expectRelative(jensenShannonDistance([5, 0, 3, 2], new Float64Array([1, 4, 0, 5]), { smoothing: 0.5 }), 0.542574557018142, 1e-12);
  });

  it('is 0 for identical distributions, whatever their scale', () => {
    expect(jensenShannonDistance([0.2, 0.3, 0.5], [2, 3, 5])).toBe(0);
  });
});

describe('total variation distance', () => {
  it('is half the L1 distance of the normalized vectors', () => {
    expect(totalVariationDistance([10, 20, 30, 40], [40, 30, 20, 10])).toBeCloseTo(0.4, 15);
    expect(totalVariationDistance([1, 0, 0], [0, 1, 0])).toBe(1);
    expect(totalVariationDistance([1, 1], [3, 3])).toBe(0);
    // smoothing 1: (2, 1) / 3 vs (1, 2) / 3 -> 1/3
    expect(totalVariationDistance([1, 0], [0, 1], { smoothing: 1 })).toBeCloseTo(1 / 3, 15);
  });
});

describe('input checks', () => {
  it('refuses empty, mismatched, negative, all-zero input and bad smoothing, naming the argument', () => {
    expect(() => jensenShannonDistance([], [])).toThrow(/p must not be empty/);
    expect(() => totalVariationDistance([1, 2], [1])).toThrow(/q must have the length of p/);
    expect(() => jensenShannonDistance([1, -1], [1, 1])).toThrow(/p must hold finite values >= 0/);
    expect(() => totalVariationDistance([1, 1], [0, 0])).toThrow(/q must not be all zero/);
    expect(() => normalizePair([1], [1], { smoothing: -1 })).toThrow(/smoothing must be/);
  });

  it('lets smoothing rescue an all-zero window', () => {
    expect(totalVariationDistance([0, 0], [1, 3], { smoothing: 1 })).toBeCloseTo(0.5 - 2 / 6, 15);
  });
});
