import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../seeded-random';
import { hajekAccuracy, type LabeledOutcome, labeledProbability, naiveLabelAccuracy, ppiAccuracy, type QueueResponse, responseRates } from './label-estimates';
import {
  DEFAULT_REVIEW_SETTINGS,
  decideReview,
  decideReviewV2,
  interleaveReviews,
  meanMarginUncertainty,
  reviewFocusFromAlerts,
  type ReviewPolicySettings,
} from './review-policy';

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

/** The hub's counts (review-assignment.repository labeledForEstimates): strata like SQL's ntile, the first ones one larger. */
function queueResponse(queue: { u: number; uniform: boolean; labeled: boolean }[], strata: number): QueueResponse {
  const uniform = queue.filter((q) => q.uniform);
  const ranked = queue.filter((q) => !q.uniform).sort((a, b) => a.u - b.u);
  const base = Math.floor(ranked.length / strata);
  const extra = ranked.length % strata;
  const uncertaintyStrata: QueueResponse['uncertaintyStrata'] = [];
  for (let s = 0, at = 0; s < strata && at < ranked.length; s++) {
    const members = ranked.slice(at, (at += base + (s < extra ? 1 : 0)));
    uncertaintyStrata.push({ maxUncertainty: members[members.length - 1]!.u, labeled: members.filter((q) => q.labeled).length, assigned: members.length });
  }
  return { uniform: { labeled: uniform.filter((q) => q.labeled).length, assigned: uniform.length }, uncertaintyStrata };
}

const covers = (interval: [number, number], truth: number) => interval[0] <= truth && truth <= interval[1];

/**
 * The same window under policy v2: K = 4 classes, the calibrated probabilities have top-1 p_i (as above) on the
 * predicted class and the rest spread at random; one class ('c2') is implicated by an open alert (with device d-7),
 * and it is harder (right 15 points less often than f says): the weighting leans the queue towards it.
 */
const FOCUS = reviewFocusFromAlerts([
  {
    moved: { classMix: { classes: ['c0', 'c1', 'c2', 'c3'].map((label) => ({ label, observed: 0.25, change: label === 'c2' ? 'rose' : null })) } },
    contributors: { devices: [{ key: 'd-7', windowShare: 0.1 }] },
  },
]);
function populationV2(random: () => number, N: number, settings: ReviewPolicySettings) {
  const labeled: LabeledOutcome[] = [];
  let correct = 0;
  let expectedCorrect = 0;
  const meanMargin = meanMarginUncertainty(MEAN_UNCERTAINTY);
  for (let i = 0; i < N; i++) {
    const predicted = Math.floor(random() * 4);
    const p = 1 - 0.6 * random() ** 3;
    const rest = [random(), random(), random()];
    const sum = rest.reduce((a, b) => a + b, 0) || 1;
    const probabilities = [0, 1, 2, 3].map((c) => (c === predicted ? p : ((1 - p) * rest.pop()!) / sum));
    const right = random() < (predicted === 2 ? Math.max(0, p - 0.15) : p);
    correct += right ? 1 : 0;
    expectedCorrect += p;
    const decision = decideReviewV2({ probabilities, predicted: `c${predicted}`, deviceKey: random() < 0.1 ? 'd-7' : 'd-1' }, random(), meanMargin, FOCUS, settings);
    if (decision.selected) labeled.push({ correct: right, inclusionProbability: decision.inclusionProbability, expectedCorrect: p });
  }
  return { labeled, truth: correct / N, expectedCorrect, N };
}

describe('accuracy from labels chosen by the review policy', () => {
  it('stays unbiased and covers under policy v2 (margin uncertainty, alert focus on a harder class)', () => {
    const random = mulberry32(1212);
    const big = populationV2(random, 200_000, DEFAULT_REVIEW_SETTINGS);
    const naive = naiveLabelAccuracy(big.labeled)!;
    const hajek = hajekAccuracy(big.labeled)!;
    expect(big.truth - naive.estimate).toBeGreaterThan(0.05);
    expect(Math.abs(hajek.estimate - big.truth)).toBeLessThan(0.01);
    const TRIALS = 400;
    const tally = { hajek: 0, ppi: 0, hajekBias: 0, ppiBias: 0 };
    for (let t = 0; t < TRIALS; t++) {
      const { labeled, truth, expectedCorrect, N } = populationV2(random, 1_000, DEFAULT_REVIEW_SETTINGS);
      const h = hajekAccuracy(labeled)!;
      const ppi = ppiAccuracy(labeled, { events: N, expectedCorrect })!;
      tally.hajek += covers(h.interval, truth) ? 1 : 0;
      tally.ppi += covers(ppi.interval, truth) ? 1 : 0;
      tally.hajekBias += h.estimate - truth;
      tally.ppiBias += ppi.estimate - truth;
    }
    console.log(`v2: coverage Hájek ${(tally.hajek / TRIALS).toFixed(3)} (bias ${(tally.hajekBias / TRIALS).toFixed(4)}), PPI ${(tally.ppi / TRIALS).toFixed(3)} (bias ${(tally.ppiBias / TRIALS).toFixed(4)})`);
    expect(Math.abs(tally.hajekBias / TRIALS)).toBeLessThan(0.01);
    expect(Math.abs(tally.ppiBias / TRIALS)).toBeLessThan(0.01);
    for (const rate of [tally.hajek / TRIALS, tally.ppi / TRIALS]) {
      expect(rate).toBeGreaterThanOrEqual(0.88);
      expect(rate).toBeLessThanOrEqual(0.99);
    }
  });

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
    let covered = 0;
    const TRIALS = 300;
    for (let t = 0; t < TRIALS; t++) {
      // Every event 20 points less likely right than f says.
      const { labeled, truth, N } = population(random, 1_000, DEFAULT_REVIEW_SETTINGS, 0.2);
      const f = labeled.map((item) => ({ ...item, expectedCorrect: Math.min(1, item.expectedCorrect! + 0.2) }));
      const expectedCorrect = truth * N + 0.2 * N; // Σ f over the window, as biased as each f
      const ppi = ppiAccuracy(f, { events: N, expectedCorrect: Math.min(N, expectedCorrect) })!;
      error += ppi.estimate - truth;
      covered += covers(ppi.interval, truth) ? 1 : 0;
    }
    console.log(`f 20 points over-confident: PPI bias ${(error / TRIALS).toFixed(4)}, coverage ${(covered / TRIALS).toFixed(3)}`);
    expect(Math.abs(error / TRIALS)).toBeLessThan(0.02);
    expect(covered / TRIALS).toBeGreaterThanOrEqual(0.85);
  });

  it('stays unbiased and covers when labelers clear only the doubtful-first part of the queue (response by stratum)', () => {
    const TRIALS = 300;
    const STRATA = 10;
    const settings = { reviewRate: 0.1, uniformShare: 0.35 };
    const uniformProbability = settings.reviewRate * settings.uniformShare;
    const random = mulberry32(99);
    let covered = 0;
    let error = 0;
    let unadjustedError = 0;
    for (let t = 0; t < TRIALS; t++) {
      // The queue of 1,000 events (~100 assignments); in its order, the first 60% get labeled.
      const queue: { id: string; u: number; right: boolean; pi: number; uniform: boolean; labeled: boolean }[] = [];
      let correct = 0;
      const N = 1_000;
      for (let i = 0; i < N; i++) {
        const p = 1 - 0.6 * random() ** 3;
        const right = random() < p;
        correct += right ? 1 : 0;
        const d = decideReview(1 - p, random(), MEAN_UNCERTAINTY, settings);
        if (d.selected) queue.push({ id: String(i), u: 1 - p, right, pi: d.inclusionProbability, uniform: d.component === 'uniform', labeled: false });
      }
      const byU = [...queue].sort((a, b) => b.u - a.u);
      const order = interleaveReviews(byU, queue.filter((q) => q.uniform), queue.length);
      for (const item of order.slice(0, Math.round(0.6 * queue.length))) item.labeled = true;
      // As the hub counts them: the uniform component as one class, the uncertainty component in deciles of u.
      const response = queueResponse(queue, STRATA);
      const items = queue
        .filter((q) => q.labeled)
        .map((q) => {
          const rho = responseRates(response, q.u);
          return { correct: q.right, inclusionProbability: labeledProbability(q.pi, uniformProbability, rho.uniform, rho.uncertainty) };
        });
      const truth = correct / N;
      const adjusted = hajekAccuracy(items)!;
      covered += covers(adjusted.interval, truth) ? 1 : 0;
      error += adjusted.estimate - truth;
      const plain = hajekAccuracy(queue.filter((q) => q.labeled).map((q) => ({ correct: q.right, inclusionProbability: q.pi })))!;
      unadjustedError += plain.estimate - truth;
    }
    console.log(`60% of the queue labeled: bias adjusted ${(error / TRIALS).toFixed(4)}, unadjusted ${(unadjustedError / TRIALS).toFixed(4)}; coverage ${(covered / TRIALS).toFixed(3)}`);
    expect(Math.abs(error / TRIALS)).toBeLessThan(0.01);
    expect(unadjustedError / TRIALS).toBeLessThan(-0.02); // without the adjustment the doubtful-first order biases it down
    expect(covered / TRIALS).toBeGreaterThanOrEqual(0.9);
    expect(labeledProbability(0.2, 0.05, 1, 1)).toBeCloseTo(0.2, 15);
    const strata = { uniform: { labeled: 1, assigned: 4 }, uncertaintyStrata: [{ maxUncertainty: 0.1, labeled: 0, assigned: 5 }, { maxUncertainty: 0.5, labeled: 5, assigned: 5 }] };
    expect(responseRates(strata, 0.3)).toEqual({ uniform: 0.25, uncertainty: 1 });
    expect(responseRates(strata, 0.05)).toEqual({ uniform: 0.25, uncertainty: 0 });
    expect(responseRates(strata, 0.9)).toEqual({ uniform: 0.25, uncertainty: 1 });
    expect(responseRates({ uniform: { labeled: 0, assigned: 0 }, uncertaintyStrata: strata.uncertaintyStrata }, 0.05)).toEqual({ uniform: 0, uncertainty: 0 });
    expect(labeledProbability(0.2, 0.05, 1, 0)).toBeCloseTo(0.05, 15);
    expect(() => labeledProbability(0.2, 0.3, 1, 1)).toThrow(/uniformProbability/);
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
    expect(covers(exactPpi.interval, 0.75)).toBe(true);
    expect(exactPpi.interval[1] - exactPpi.interval[0]).toBeLessThan(exact.interval[1] - exact.interval[0] + 1e-12);

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
