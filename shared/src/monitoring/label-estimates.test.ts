import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../seeded-random';
import { hajekAccuracy, type LabeledOutcome, naiveLabelAccuracy, ppiAccuracy, regularizedBeta, studentTCdf, studentTQuantile } from './label-estimates';
import { DEFAULT_REVIEW_SETTINGS, decideReview, type ReviewPolicySettings } from './review-policy';

/**
 * A synthetic production window with a known accuracy: N events, each right with probability p_i = 1 − 0.6·U³
 * (mean 0.85; many confident, a tail of doubtful ones), f_i = p_i (calibrated), u_i = 1 − p_i; the reference's mean
 * uncertainty is E[u] = 0.15. Each event is queued by the real policy with a uniform draw and every queued one labeled.
 * The truth is the window's realized accuracy (the finite population the estimators target).
 */
const MEAN_UNCERTAINTY = 0.15;
function population(random: () => number, N: number, settings: ReviewPolicySettings, shift = 0) {
  const labeled: LabeledOutcome[] = [];
  let correct = 0;
  let expectedCorrect = 0;
  for (let i = 0; i < N; i++) {
    const p = Math.max(0, 1 - 0.6 * random() ** 3 - shift);
    const right = random() < p;
    correct += right ? 1 : 0;
    expectedCorrect += p;
    const decision = decideReview(1 - p, random(), MEAN_UNCERTAINTY, settings);
    if (decision.selected) labeled.push({ correct: right, inclusionProbability: decision.inclusionProbability, expectedCorrect: p });
  }
  return { labeled, truth: correct / N, expectedCorrect, N };
}

const covers = (interval: [number, number], truth: number) => interval[0] <= truth && truth <= interval[1];

describe('accuracy from labels chosen by the review policy', () => {
  it('removes the bias the doubtful-first selection gives the labeled mean, at a 5% review rate', () => {
    const random = mulberry32(11);
    const { labeled, truth } = population(random, 200_000, DEFAULT_REVIEW_SETTINGS);
    const naive = naiveLabelAccuracy(labeled)!;
    const hajek = hajekAccuracy(labeled)!;
    expect(labeled.length / 200_000).toBeGreaterThan(0.045);
    expect(labeled.length / 200_000).toBeLessThan(0.055);
    expect(truth - naive.estimate).toBeGreaterThan(0.1);
    expect(Math.abs(hajek.estimate - truth)).toBeLessThan(0.01);
  });

  it('covers the true accuracy 90-99% of the time with ~50 labels of 1,000 events, and PPI is narrower when f is informative', () => {
    const TRIALS = 600;
    const random = mulberry32(2026);
    const tally = { naive: 0, hajek: 0, ppi: 0, hajekWidth: 0, ppiWidth: 0, labels: 0, naiveBias: 0 };
    for (let t = 0; t < TRIALS; t++) {
      const { labeled, truth, expectedCorrect, N } = population(random, 1_000, DEFAULT_REVIEW_SETTINGS);
      const naive = naiveLabelAccuracy(labeled)!;
      const hajek = hajekAccuracy(labeled)!;
      const ppi = ppiAccuracy(labeled, { events: N, expectedCorrect })!;
      tally.naive += covers(naive.interval, truth) ? 1 : 0;
      tally.hajek += covers(hajek.interval, truth) ? 1 : 0;
      tally.ppi += covers(ppi.interval, truth) ? 1 : 0;
      tally.hajekWidth += hajek.interval[1] - hajek.interval[0];
      tally.ppiWidth += ppi.interval[1] - ppi.interval[0];
      tally.labels += labeled.length;
      tally.naiveBias += naive.estimate - truth;
    }
    const rate = (x: number) => x / TRIALS;
    // Printed for the README's table: coverage and mean width of each interval.
    console.log(
      `labels ${rate(tally.labels).toFixed(1)}/1000; coverage naive ${rate(tally.naive).toFixed(3)} (bias ${rate(tally.naiveBias).toFixed(3)}), ` +
        `Hájek ${rate(tally.hajek).toFixed(3)} (width ${rate(tally.hajekWidth).toFixed(3)}), PPI ${rate(tally.ppi).toFixed(3)} (width ${rate(tally.ppiWidth).toFixed(3)})`,
    );
    expect(rate(tally.hajek)).toBeGreaterThanOrEqual(0.9);
    expect(rate(tally.hajek)).toBeLessThanOrEqual(0.99);
    expect(rate(tally.ppi)).toBeGreaterThanOrEqual(0.9);
    expect(rate(tally.ppi)).toBeLessThanOrEqual(0.99);
    expect(rate(tally.naive)).toBeLessThan(0.5);
    expect(tally.ppiWidth).toBeLessThan(tally.hajekWidth);
  });

  it('keeps PPI unbiased when f is wrong (the model over-confident after a shift), because π is known', () => {
    const random = mulberry32(7);
    let error = 0;
    const TRIALS = 200;
    for (let t = 0; t < TRIALS; t++) {
      // Every event 20 points less likely right than f says.
      const { labeled, truth, N } = population(random, 1_000, DEFAULT_REVIEW_SETTINGS, 0.2);
      const f = labeled.map((item) => ({ ...item, expectedCorrect: Math.min(1, item.expectedCorrect! + 0.2) }));
      const expectedCorrect = truth * N + 0.2 * N; // Σ f over the window, as biased as each f
      error += ppiAccuracy(f, { events: N, expectedCorrect: Math.min(N, expectedCorrect) })!.estimate - truth;
    }
    expect(Math.abs(error / TRIALS)).toBeLessThan(0.02);
  });

  it('answers no labels with null, and all-correct, a census (every π = 1) and a single label with finite intervals', () => {
    expect(naiveLabelAccuracy([])).toBeNull();
    expect(hajekAccuracy([])).toBeNull();
    expect(ppiAccuracy([], { events: 10, expectedCorrect: 9 })).toBeNull();

    const allRight = Array.from({ length: 20 }, (_, i) => ({ correct: true, inclusionProbability: i % 2 ? 0.05 : 0.2, expectedCorrect: 0.9 }));
    const hajek = hajekAccuracy(allRight)!;
    expect(hajek.estimate).toBe(1);
    expect(hajek.interval[1]).toBe(1);
    expect(hajek.interval[0]).toBeGreaterThan(0.7);
    expect(hajek.interval[0]).toBeLessThan(1);
    const ppi = ppiAccuracy(allRight, { events: 200, expectedCorrect: 180 })!;
    expect(ppi.interval[1]).toBeLessThanOrEqual(1);
    expect(ppi.interval[0]).toBeLessThanOrEqual(ppi.estimate);

    // A census: every event labeled. The estimate is the accuracy itself; the interval is narrow around it.
    const census = Array.from({ length: 40 }, (_, i) => ({ correct: i % 4 !== 0, inclusionProbability: 1, expectedCorrect: 0.75 }));
    const exact = hajekAccuracy(census)!;
    expect(exact.estimate).toBe(0.75);
    expect(covers(exact.interval, 0.75)).toBe(true);
    const exactPpi = ppiAccuracy(census, { events: 40, expectedCorrect: 30 })!;
    expect(exactPpi.estimate).toBeCloseTo(0.75, 12);
    expect(exactPpi.interval).toEqual([exactPpi.estimate, exactPpi.estimate]);

    const one = [{ correct: 0, inclusionProbability: 0.1, expectedCorrect: 0.5 }];
    expect(hajekAccuracy(one)!.interval[0]).toBe(0);
    expect(ppiAccuracy(one, { events: 10, expectedCorrect: 5 })).toBeNull();
  });

  it('names the field of a bad item or population', () => {
    expect(() => hajekAccuracy([{ correct: 1, inclusionProbability: 0 }])).toThrow(/items\.0\.inclusionProbability must be in \(0, 1\]/);
    expect(() => naiveLabelAccuracy([{ correct: 2, inclusionProbability: 0.5 }])).toThrow(/items\.0\.correct/);
    expect(() => ppiAccuracy([{ correct: 1, inclusionProbability: 0.5 }], { events: 5, expectedCorrect: 1 })).toThrow(/items\.0\.expectedCorrect/);
    expect(() => ppiAccuracy([{ correct: 1, inclusionProbability: 0.5, expectedCorrect: 1 }], { events: 0, expectedCorrect: 0 })).toThrow(/population\.events/);
  });
});

describe('Student t for the PPI interval', () => {
  it('matches scipy.stats.t (ppf and cdf) to 1e-9', () => {
    // scipy 1.x: stats.t.ppf(0.975, [1, 2, 5, 10, 30, 100]), stats.t.cdf(-1.5, 3)
    const ppf = [12.70620474, 4.30265273, 2.57058184, 2.22813885, 2.04227246, 1.98397152];
    [1, 2, 5, 10, 30, 100].forEach((dof, i) => expect(studentTQuantile(0.975, dof)).toBeCloseTo(ppf[i]!, 7));
    expect(studentTCdf(-1.5, 3)).toBeCloseTo(0.11529193262241147, 12);
    expect(studentTQuantile(0.025, 10)).toBeCloseTo(-2.22813885, 7);
    expect(regularizedBeta(0.3, 2, 3)).toBeCloseTo(0.3483, 12); // I_0.3(2,3) = 1 − (1−x)^4 − 4x(1−x)^3 = 0.3483
  });
});
