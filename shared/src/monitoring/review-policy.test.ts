import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../seeded-random';
import { DEFAULT_REVIEW_SETTINGS, decideReview, inclusionProbability, interleaveReviews, reviewDrawFromDigest } from './review-policy';

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
    expect(DEFAULT_REVIEW_SETTINGS.uniformShare).toBeGreaterThanOrEqual(0.1);
  });
});
