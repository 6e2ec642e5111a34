import { describe, expect, it } from 'vitest';
import { chiSquareGoodnessOfFit, chiSquareTwoSample, ksAsymptoticPValue, ksExactPValue, ksTwoSample, ksTwoSampleSorted } from './two-sample';

function expectRelative(actual: number, expected: number, tolerance: number): void {
  const scale = Math.max(Math.abs(expected), Number.MIN_VALUE);
  expect(Math.abs(actual - expected) / scale, `${actual} vs ${expected}`).toBeLessThanOrEqual(tolerance);
}

function expectAllClose(actual: number[], expected: number[], tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((value, i) => expectRelative(value, expected[i] as number, tolerance));
}

/*
 * Deterministic samples reproduced bit for bit in Python (the same IEEE operations):
 *   frac = lambda i, c: (i * c) % 1.0; PHI = 0.6180339887498949; R2 = 0.41421356237309515
 *   A(n) = np.array([frac(i, PHI) for i in range(1, n + 1)])
 *   B(m) = np.array([frac(j, R2) * 0.9 + 0.08 for j in range(1, m + 1)])
 *   C(m) = np.array([frac(j, R2) * 0.7 + 0.3 for j in range(1, m + 1)])
 *   T(n, c, k) = np.array([np.floor(frac(i, c) * k) for i in range(1, n + 1)])   # ties
 */
const PHI = 0.6180339887498949;
const R2 = 0.41421356237309515;
const frac = (i: number, c: number): number => (i * c) % 1;
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);
const sampleA = (n: number): Float64Array => Float64Array.from(range(n), (i) => frac(i, PHI));
const sampleB = (m: number): number[] => range(m).map((j) => frac(j, R2) * 0.9 + 0.08);
const sampleC = (m: number): number[] => range(m).map((j) => frac(j, R2) * 0.7 + 0.3);
const sampleT = (n: number, c: number, k: number): number[] => range(n).map((i) => Math.floor(frac(i, c) * k));

describe('two-sample Kolmogorov–Smirnov', () => {
  // scipy 1.17.1: r = scipy.stats.ks_2samp(a, b)  (method='auto' -> exact, max(n, m) <= 10000)
  const exactCases: [string, Float64Array | number[], number[], number, number][] = [
    ['A(50) vs B(70)', sampleA(50), sampleB(70), 0.1, 0.9026789638270555],
    ['A(40) vs B(40), equal sizes', sampleA(40), sampleB(40), 0.1, 0.9900193288833089],
    ['A(300) vs B(250)', sampleA(300), sampleB(250), 0.082, 0.3010924481161265],
    ['A(2000) vs B(3000)', sampleA(2000), sampleB(3000), 0.08033333333333334, 3.5663400314780746e-7],
    ['A(200) vs C(150)', sampleA(200), sampleC(150), 0.305, 1.602421112823998e-7],
    ['T(60, PHI, 5) vs T(45, R2, 6), ties', sampleT(60, PHI, 5), sampleT(45, R2, 6), 0.15555555555555556, 0.5198788293233328],
  ];
  it.each(exactCases)('%s: D and exact p match scipy', (_, a, b, d, p) => {
    const result = ksTwoSample(a, b);
    expect(result.method).toBe('exact');
    expectRelative(result.statistic, d, 1e-12);
    expectRelative(result.pValue, p, 1e-9);
  });

  it('switches to the asymptotic p above 10,000 like scipy auto, within 1% of scipy', () => {
    // scipy 1.17.1: scipy.stats.ks_2samp(A(12000), B(300)) -> (0.083, 0.03329433098252288), asymp (kstwo.sf(D, round(ne)))
    // Stephens' formula, scipy.special.kolmogorov((sqrt(ne) + 0.12 + 0.11 / sqrt(ne)) * 0.083) = 0.03339779060928697
    const result = ksTwoSample(sampleA(12_000), sampleB(300));
    expect(result.method).toBe('asymp');
    expectRelative(result.statistic, 0.083, 1e-12);
    expectRelative(result.pValue, 0.03339779060928697, 1e-10);
    expectRelative(result.pValue, 0.03329433098252288, 0.01);
  });

  it('computes the asymptotic p on request', () => {
    // scipy.special.kolmogorov((sqrt(ne) + 0.12 + 0.11 / sqrt(ne)) * 0.08), ne = 3000 * 2000 / 5000 -> 3.825982993109503e-07
    // (scipy.stats.ks_2samp(A(3000), B(2000), method='asymp') -> 3.969898309276771e-07)
    expectRelative(ksAsymptoticPValue(3000, 2000, 0.08), 3.825982993109503e-7, 1e-10);
    expect(ksTwoSample(sampleA(3000), sampleB(2000), { method: 'asymp' }).method).toBe('asymp');
  });

  it('gives D = 0 and p = 1 for identical samples', () => {
    const a = sampleA(100);
    expect(ksTwoSample(a, Float64Array.from(a).reverse())).toEqual({ statistic: 0, pValue: 1, method: 'exact' });
  });

  it('gives D = 1 and p = 2 / C(n+m, n) for separated samples', () => {
    // scipy 1.17.1: scipy.stats.ks_2samp(np.arange(5.), np.arange(7.) + 10) -> (1.0, 0.0025252525252525255)
    const result = ksTwoSample([0, 1, 2, 3, 4], [10, 11, 12, 13, 14, 15, 16]);
    expect(result.statistic).toBe(1);
    expectRelative(result.pValue, 0.0025252525252525255, 1e-12);
    expectRelative(ksExactPValue(7, 5, 1), 2 / 792, 1e-12);
  });

  it('takes pre-sorted samples without sorting them again, and refuses unsorted ones', () => {
    const a = sampleA(300).sort();
    const b = Float64Array.from(sampleB(250)).sort();
    const result = ksTwoSampleSorted(a, b);
    expectRelative(result.statistic, 0.082, 1e-12);
    expectRelative(result.pValue, 0.3010924481161265, 1e-9);
    expect(() => ksTwoSampleSorted(a, Float64Array.from([2, 1]))).toThrow(/sortedB must be in ascending order/);
    expect(() => ksTwoSampleSorted(new Float64Array(0), b)).toThrow(/sortedA must not be empty/);
  });

  it('does not modify its inputs', () => {
    const a = [3, 1, 2];
    ksTwoSample(a, [0.5, 4]);
    expect(a).toEqual([3, 1, 2]);
  });

  it('refuses empty samples and NaN, naming the argument', () => {
    expect(() => ksTwoSample([], [1])).toThrow(/a must not be empty/);
    expect(() => ksTwoSample([1], new Float64Array(0))).toThrow(/b must not be empty/);
    expect(() => ksTwoSample([1], [Number.NaN])).toThrow(/b must not contain NaN/);
  });
});

describe('chi-square goodness of fit', () => {
  // scipy 1.17.1: p = pi / pi.sum(); e = o.sum() * p; scipy.stats.chisquare(o, f_exp=e); z = (o - e) / np.sqrt(e * (1 - p))
  it('matches scipy for uniform expected proportions', () => {
    const result = chiSquareGoodnessOfFit([16, 18, 16, 14, 12, 12], [1, 1, 1, 1, 1, 1]);
    expectRelative(result.statistic, 2.0, 1e-12);
    expect(result.dof).toBe(5);
    expectRelative(result.pValue, 0.8491450360846096, 1e-10);
    expectAllClose(result.residuals, [0.3813850356982371, 0.9534625892455926, 0.3813850356982371, -0.1906925178491183, -0.7627700713964737, -0.7627700713964737], 1e-12);
  });

  it('matches scipy for unequal proportions and says which classes rose and fell', () => {
    const result = chiSquareGoodnessOfFit(new Float64Array([30, 14, 34, 45, 57, 20]), [0.1, 0.1, 0.15, 0.2, 0.3, 0.15]);
    expectRelative(result.statistic, 11.441666666666666, 1e-12);
    expectRelative(result.pValue, 0.04329313031580497, 1e-10);
    expectAllClose(result.residuals, [2.3570226039551585, -1.4142135623730951, 0.7921180343813395, 0.8838834764831843, -0.4629100498862757, -1.9802950859533488], 1e-12);
    expectAllClose(result.expected, [20, 20, 30, 40, 60, 30], 1e-12);
  });

  it('leaves out a class with zero proportion and zero count, and flags one that appears', () => {
    const absent = chiSquareGoodnessOfFit([16, 18, 0, 16], [1, 1, 0, 1]);
    expect(absent.dof).toBe(2);
    expect(Number.isNaN(absent.residuals[2])).toBe(true);
    // scipy.stats.chisquare([16, 18, 16], f_exp=[50/3] * 3) -> p = 0.9231163463866358
    expectRelative(absent.pValue, 0.9231163463866358, 1e-10);
    const appeared = chiSquareGoodnessOfFit([16, 18, 2, 16], [1, 1, 0, 1]);
    expect(appeared.statistic).toBe(Number.POSITIVE_INFINITY);
    expect(appeared.pValue).toBe(0);
    expect(appeared.residuals[2]).toBe(Number.POSITIVE_INFINITY);
  });

  it('refuses bad input, naming the argument', () => {
    expect(() => chiSquareGoodnessOfFit([], [])).toThrow(/observed must not be empty/);
    expect(() => chiSquareGoodnessOfFit([1, 2], [1])).toThrow(/expectedProportions must have the length/);
    expect(() => chiSquareGoodnessOfFit([0, 0], [1, 1])).toThrow(/observed must hold at least one count/);
    expect(() => chiSquareGoodnessOfFit([1, 2], [0, 0])).toThrow(/expectedProportions must not be all zero/);
    expect(() => chiSquareGoodnessOfFit([1, -2], [1, 1])).toThrow(/observed must hold finite counts/);
  });
});

describe('chi-square of two count vectors', () => {
  // scipy 1.17.1: r = scipy.stats.chi2_contingency(np.array([a, b])); E = r.expected_freq;
  //   z = (t - E) / np.sqrt(E * (1 - rows / N) * (1 - cols / N)), second row
  it('matches scipy for a 2x5 table', () => {
    const result = chiSquareTwoSample([120, 90, 40, 30, 20], [30, 40, 35, 10, 25]);
    expectRelative(result.statistic, 29.890272690272692, 1e-12);
    expect(result.dof).toBe(4);
    expectRelative(result.pValue, 5.152737177279502e-6, 1e-10);
    expectAllClose(result.expected, [47.72727272727273, 41.36363636363637, 23.863636363636363, 12.727272727272727, 14.318181818181818], 1e-12);
    expectAllClose(result.residuals, [-3.8278214102500225, -0.3059147520459251, 3.0312426936628354, -0.9710083124552242, 3.608234430147244], 1e-12);
  });

  it('applies Yates at dof 1 like scipy, and not when asked', () => {
    // scipy.stats.chi2_contingency([[12, 5], [7, 9]]) -> (1.455996378814684, 0.22756821457580642)
    const yates = chiSquareTwoSample([12, 5], [7, 9]);
    expectRelative(yates.statistic, 1.455996378814684, 1e-12);
    expectRelative(yates.pValue, 0.22756821457580642, 1e-10);
    expectAllClose(yates.residuals, [-1.5590303139071924, 1.5590303139071917], 1e-12);
    // scipy.stats.chi2_contingency([[12, 5], [7, 9]], correction=False) -> (2.4305755196815575, 0.118989205532145)
    const plain = chiSquareTwoSample([12, 5], [7, 9], { yates: false });
    expectRelative(plain.statistic, 2.4305755196815575, 1e-12);
    expectRelative(plain.pValue, 0.118989205532145, 1e-10);
  });

  it('leaves out classes empty in both vectors and gives p = 1 for proportional counts', () => {
    const result = chiSquareTwoSample([10, 0, 20, 30], [20, 0, 40, 60]);
    expect(result.dof).toBe(2);
    expect(result.statistic).toBeCloseTo(0, 12);
    expect(result.pValue).toBeCloseTo(1, 12);
    expect(Number.isNaN(result.residuals[1])).toBe(true);
  });

  it('refuses bad input, naming the argument', () => {
    expect(() => chiSquareTwoSample([], [])).toThrow(/a must not be empty/);
    expect(() => chiSquareTwoSample([1, 2], [1])).toThrow(/b must have the length of a/);
    expect(() => chiSquareTwoSample([1, 2], [0, 0])).toThrow(/b must hold at least one count/);
    expect(() => chiSquareTwoSample([1, Number.NaN], [0, 1])).toThrow(/a must hold finite counts/);
  });
});
