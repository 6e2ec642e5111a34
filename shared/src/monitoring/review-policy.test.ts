import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../seeded-random';
import {
  DEFAULT_REVIEW_SETTINGS,
  FOCUS_BOOST,
  MIN_UNIFORM_SHARE,
  NO_FOCUS,
  type ReviewFocus,
  decideReview,
  decideReviewV2,
  inclusionProbability,
  inclusionProbabilityV2,
  interleaveReviews,
  marginUncertainty,
  meanMarginUncertainty,
  parseReviewPolicyLabel,
  reviewDrawFromDigest,
  reviewFocusFromAlerts,
  reviewFocusWeight,
  reviewPolicyLabel,
} from './review-policy';

const settings = { reviewRate: 0.05, uniformShare: 0.35 };

describe('review policy uncertainty-poisson/v1', () => {
  it('gives π = clip(r(ε + (1−ε)u/ū), rε, 1)', () => {
    expect(inclusionProbability(0, 0.1, settings)).toBeCloseTo(0.05 * 0.35, 15);
    expect(inclusionProbability(0.1, 0.1, settings)).toBeCloseTo(0.05, 15);
    expect(inclusionProbability(0.3, 0.1, settings)).toBeCloseTo(0.05 * (0.35 + 0.65 * 3), 15);
    expect(inclusionProbability(1, 0.01, settings)).toBe(1);
    expect(inclusionProbability(0.5, 0, settings)).toBeCloseTo(0.05, 15); // no reference uncertainty: uniform rate
    expect(() => inclusionProbability(0.5, 0.1, { reviewRate: 0.05, uniformShare: 0.05 })).toThrow(/uniformShare must be in \[0.1, 1\]/);
    expect(() => inclusionProbability(0.5, 0.1, { reviewRate: 0, uniformShare: 0.5 })).toThrow(/reviewRate must be in \(0, 1\]/);
  });

  it('picks a uniform share r·ε of every event at every confidence level, and leans the rest towards doubtful ones', () => {
    const random = mulberry32(5);
    const N = 400_000;
    const bins = 10; // confidence deciles 0.0-0.1, ..., 0.9-1.0
    const seen = new Array(bins).fill(0);
    const uniform = new Array(bins).fill(0);
    const selected = new Array(bins).fill(0);
    let uniformTotal = 0;
    let selectedTotal = 0;
    for (let i = 0; i < N; i++) {
      const confidence = random();
      const bin = Math.min(bins - 1, Math.floor(confidence * bins));
      const decision = decideReview(1 - confidence, random(), 0.5, settings);
      seen[bin]++;
      if (decision.selected) {
        selected[bin]++;
        selectedTotal++;
      }
      if (decision.component === 'uniform') {
        uniform[bin]++;
        uniformTotal++;
      }
    }
    const rate = settings.reviewRate * settings.uniformShare;
    expect(uniformTotal / N).toBeCloseTo(rate, 3);
    // Share of the queue that is uniform: ε when mean uncertainty is as in the reference (here it is).
    expect(uniformTotal / selectedTotal).toBeGreaterThan(0.33);
    expect(uniformTotal / selectedTotal).toBeLessThan(0.37);
    for (let b = 0; b < bins; b++) {
      // Every confidence level is reachable, uniformly at r·ε (binomial SE ≈ 0.0006 per bin).
      expect(Math.abs(uniform[b] / seen[b] - rate), `bin ${b}`).toBeLessThan(0.003);
      expect(selected[b]).toBeGreaterThan(0);
    }
    // Doubtful first: the least confident decile is selected more often than the most confident one.
    expect(selected[0] / seen[0]).toBeGreaterThan(3 * (selected[bins - 1] / seen[bins - 1]));
  });

  it('stores the settings with the policy name and reads them back', () => {
    expect(reviewPolicyLabel(settings)).toBe('margin-focus-poisson/v2 r=0.05 e=0.35');
    expect(reviewPolicyLabel(settings, 'uncertainty-poisson/v1')).toBe('uncertainty-poisson/v1 r=0.05 e=0.35');
    expect(parseReviewPolicyLabel('uncertainty-poisson/v1 r=0.05 e=0.35')).toEqual(settings);
    expect(parseReviewPolicyLabel('margin-focus-poisson/v2 r=0.05 e=0.35')).toEqual(settings);
    expect(parseReviewPolicyLabel(reviewPolicyLabel({ reviewRate: 1e-7, uniformShare: 1 }))).toEqual({ reviewRate: 1e-7, uniformShare: 1 });
    expect(parseReviewPolicyLabel('uncertainty-poisson/v1 r=0.05 e=0.01')).toBeNull();
    expect(parseReviewPolicyLabel('other/v1 r=0.05 e=0.35')).toBeNull();
  });

  it('turns a digest into a draw in [0, 1) from its first 52 bits', () => {
    expect(reviewDrawFromDigest(new Uint8Array(32))).toBe(0);
    expect(reviewDrawFromDigest(new Uint8Array(32).fill(0xff))).toBe(1 - 2 ** -52);
    expect(reviewDrawFromDigest(Uint8Array.from([0x80, 0, 0, 0, 0, 0, 0]))).toBe(0.5);
    expect(reviewDrawFromDigest(Uint8Array.from([0, 0, 0, 0, 0, 0, 0x10]))).toBe(2 ** -52);
    expect(() => reviewDrawFromDigest(new Uint8Array(6))).toThrow(/at least 7 bytes/);
  });

  it('orders the queue most uncertain first with the oldest uniform item at every 3rd slot, each once', () => {
    const item = (id: string) => ({ id });
    const byUncertainty = ['a', 'u2', 'b', 'c', 'd', 'e'].map(item); // u2 is uniform and uncertain: placed once
    const oldestUniform = ['u1', 'u2', 'u3'].map(item);
    expect(interleaveReviews(byUncertainty, oldestUniform, 9).map((x) => x.id)).toEqual(['a', 'u2', 'u1', 'b', 'c', 'u3', 'd', 'e']);
    expect(interleaveReviews(byUncertainty, oldestUniform, 3).map((x) => x.id)).toEqual(['a', 'u2', 'u1']);
    expect(interleaveReviews([], oldestUniform, 5).map((x) => x.id)).toEqual(['u1', 'u2', 'u3']);
    // One item per page keeps the rhythm: the 3rd item served is uniform.
    const pages = [0, 1, 2].map((served) => interleaveReviews(byUncertainty, oldestUniform, 1, 3, served)[0]!.id);
    expect(pages).toEqual(['a', 'a', 'u1']);
    expect(interleaveReviews(byUncertainty, oldestUniform, 4, 3, 1).map((x) => x.id)).toEqual(['a', 'u1', 'u2', 'b']);
    expect(DEFAULT_REVIEW_SETTINGS.uniformShare).toBeGreaterThanOrEqual(0.1);
  });
});

/** Calibrated probabilities [K] with top-1 probability `top` on class `predicted` and the rest spread by `random`. */
function probabilities(random: () => number, k: number, predicted: number, top: number): Float64Array {
  const rest = Array.from({ length: k - 1 }, () => random() + 1e-3);
  const sum = rest.reduce((a, b) => a + b, 0);
  const out = new Float64Array(k);
  let j = 0;
  for (let i = 0; i < k; i++) out[i] = i === predicted ? top : ((1 - top) * rest[j++]!) / sum;
  return out;
}

const LABELS = ['cat', 'dog', 'bird', 'fish'];
/** A window where the alert says `bird` rose (a quarter of the window) and device `d-7` is over-represented (10%). */
const ALERT = {
  moved: {
    classMix: {
      classes: [
        { label: 'cat', observed: 0.25, change: null },
        { label: 'dog', observed: 0.25, change: null },
        { label: 'bird', observed: 0.25, change: 'rose' },
        { label: 'fish', observed: 0.25, change: null },
      ],
    },
  },
  contributors: { devices: [{ key: 'd-7', windowShare: 0.1 }] },
};

describe('review policy margin-focus-poisson/v2', () => {
  it('scores by the margin of the calibrated probabilities and gives π = clip(r(ε + (1−ε)·w·m/m̄), rε, 1)', () => {
    expect(marginUncertainty([0.7, 0.2, 0.1])).toBeCloseTo(0.5, 15);
    expect(marginUncertainty([0.1, 0.45, 0.45])).toBe(1);
    expect(marginUncertainty([1, 0, 0])).toBe(0);
    expect(marginUncertainty([1])).toBe(0);
    expect(() => marginUncertainty([])).toThrow(/at least one value/);
    expect(() => marginUncertainty([0.5, Number.NaN])).toThrow(/probabilities\.1 must be a number/);
    expect(meanMarginUncertainty(0.15)).toBeCloseTo(0.3, 15);
    expect(inclusionProbabilityV2(0, 0.3, 1, settings)).toBeCloseTo(0.05 * 0.35, 15);
    expect(inclusionProbabilityV2(0.3, 0.3, 1, settings)).toBeCloseTo(0.05, 15);
    expect(inclusionProbabilityV2(0.3, 0.3, 2, settings)).toBeCloseTo(0.05 * (0.35 + 0.65 * 2), 15);
    expect(inclusionProbabilityV2(1, 0.001, 1, settings)).toBe(1);
    expect(() => inclusionProbabilityV2(0.3, 0.3, -1, settings)).toThrow(/weight must be a finite number >= 0/);
  });

  it('reads an alert: the classes that rose or fell and the devices it names, weighted to keep the mean weight 1', () => {
    const focus = reviewFocusFromAlerts([ALERT]);
    expect(focus).toEqual({ classes: ['bird'], devices: ['d-7'], share: 0.35, boost: FOCUS_BOOST });
    expect(reviewFocusFromAlerts([])).toEqual(NO_FOCUS);
    const implicated = reviewFocusWeight(focus, 'bird', 'd-1');
    const other = reviewFocusWeight(focus, 'cat', 'd-1');
    expect(reviewFocusWeight(focus, 'cat', 'd-7')).toBe(implicated);
    expect(implicated / other).toBeCloseTo(1 + FOCUS_BOOST, 12);
    // Over a window like the alert's, the mean weight is 1: the review rate stays r.
    expect(0.35 * implicated + 0.65 * other).toBeCloseTo(1, 12);
    expect(reviewFocusWeight(NO_FOCUS, 'bird', 'd-7')).toBe(1);
  });

  it('selects each event with exactly the π it records: empirical inclusion over many draws within 4 standard errors', () => {
    const random = mulberry32(12);
    const focus = reviewFocusFromAlerts([ALERT]);
    const meanMargin = meanMarginUncertainty(0.15);
    const DRAWS = 40_000;
    for (let e = 0; e < 24; e++) {
      const predicted = e % LABELS.length;
      const event = { probabilities: probabilities(random, LABELS.length, predicted, 0.3 + 0.7 * random()), predicted: LABELS[predicted]!, deviceKey: e % 5 === 0 ? 'd-7' : 'd-1' };
      let selected = 0;
      let uniform = 0;
      let pi = 0;
      for (let i = 0; i < DRAWS; i++) {
        const decision = decideReviewV2(event, random(), meanMargin, focus, settings);
        pi = decision.inclusionProbability;
        if (decision.selected) selected++;
        if (decision.component === 'uniform') uniform++;
      }
      const se = (p: number) => Math.sqrt((p * (1 - p)) / DRAWS);
      expect(Math.abs(selected / DRAWS - pi), `event ${e}: π ${pi}`).toBeLessThan(4 * se(pi) + 1e-9);
      const rEps = settings.reviewRate * settings.uniformShare;
      expect(Math.abs(uniform / DRAWS - rEps), `event ${e} uniform`).toBeLessThan(4 * se(rEps));
    }
  });

  it('keeps the uniform share (≥ 10% of the queue, r·ε of every class) while the alert raises the implicated class', () => {
    const random = mulberry32(44);
    const N = 200_000;
    const meanMargin = meanMarginUncertainty(0.2);
    const focus = reviewFocusFromAlerts([ALERT]);
    const tally = (f: ReviewFocus, s = settings) => {
      const perClass = LABELS.map(() => ({ seen: 0, selected: 0, uniform: 0 }));
      let selected = 0;
      let uniform = 0;
      const inner = mulberry32(9); // the same events for both policies
      for (let i = 0; i < N; i++) {
        const c = Math.floor(inner() * LABELS.length);
        const event = { probabilities: probabilities(inner, LABELS.length, c, 0.4 + 0.6 * inner() ** 0.3), predicted: LABELS[c]!, deviceKey: inner() < 0.1 ? 'd-7' : 'd-1' };
        const d = decideReviewV2(event, random(), meanMargin, f, s);
        perClass[c]!.seen++;
        if (d.selected) {
          perClass[c]!.selected++;
          selected++;
        }
        if (d.component === 'uniform') {
          perClass[c]!.uniform++;
          uniform++;
        }
      }
      return { perClass, selected, uniform };
    };
    const plain = tally(NO_FOCUS);
    const focused = tally(focus);
    const share = (t: ReturnType<typeof tally>, c: number) => t.perClass[c]!.selected / t.selected;
    // bird (index 2) gets a larger share of the queue under the alert, the others less.
    expect(share(focused, 2)).toBeGreaterThan(share(plain, 2) + 0.05);
    expect(share(focused, 0)).toBeLessThan(share(plain, 0));
    for (const t of [plain, focused]) {
      expect(t.uniform / t.selected).toBeGreaterThanOrEqual(MIN_UNIFORM_SHARE);
      for (const c of t.perClass) expect(Math.abs(c.uniform / c.seen - settings.reviewRate * settings.uniformShare)).toBeLessThan(0.003);
    }
    // At the smallest ε the policy allows, the uniform part is still at least 10% of what a focused queue holds.
    const least = tally(focus, { reviewRate: 0.05, uniformShare: MIN_UNIFORM_SHARE });
    expect(least.uniform / least.selected).toBeGreaterThanOrEqual(MIN_UNIFORM_SHARE);
    // The review rate stays near r: the weights are normalised (the margin mean m̄ is approximate, so loosely).
    expect(focused.selected / N).toBeGreaterThan(0.5 * settings.reviewRate);
    expect(focused.selected / N).toBeLessThan(2 * settings.reviewRate);
  });
});
