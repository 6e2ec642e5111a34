import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../seeded-random';
import { BernoulliCusum, MixGlrDetector, referenceMixFromCounts } from './sequential';

/** Direct definition: for every m, count the last m labels and evaluate Σ N_c log(N_c/(m π0_c)). O(W²K). */
function bruteForceGlr(labels: number[], pi0: number[], window: number, minWindow: number) {
  const held = labels.slice(-window);
  let best = 0;
  let bestM = 0;
  for (let m = minWindow; m <= held.length; m++) {
    const counts = new Array(pi0.length).fill(0);
    for (const label of held.slice(held.length - m)) counts[label]++;
    const g = counts.reduce((sum, n, c) => sum + (n > 0 ? n * Math.log(n / (m * pi0[c]!)) : 0), 0);
    if (bestM === 0 || g > best) [best, bestM] = [g, m];
  }
  return { statistic: bestM === 0 ? 0 : best, argmaxWindow: bestM };
}

describe('windowed multinomial GLR', () => {
  it('matches the brute-force maximum over m on random small streams, including after the ring wraps', () => {
    const random = mulberry32(7);
    for (const [k, window, minWindow] of [[2, 5, 1], [3, 12, 4], [5, 30, 20]] as const) {
      const pi0 = referenceMixFromCounts(Array.from({ length: k }, () => Math.floor(random() * 20)));
      const detector = new MixGlrDetector({ pi0, window, minWindow });
      const labels: number[] = [];
      for (let t = 0; t < 3 * window; t++) {
        const label = random() < 0.5 ? 0 : Math.floor(random() * k);
        labels.push(label);
        const got = detector.update(label);
        const want = bruteForceGlr(labels, Array.from(pi0), window, minWindow);
        expect(got.statistic).toBeCloseTo(want.statistic, 9);
        expect(got.argmaxWindow).toBe(want.argmaxWindow);
        expect(got.alarm).toBe(false);
      }
      expect(detector.held).toBe(window);
    }
  });

  it('gives G = m ln 2 for m events of class 0 against (1/2, 1/2), with argmax m', () => {
    const detector = new MixGlrDetector({ pi0: [0.5, 0.5], window: 50, minWindow: 20, threshold: 20 * Math.LN2 + 1e-9 });
    for (let m = 1; m <= 19; m++) expect(detector.update(0)).toEqual({ statistic: 0, argmaxWindow: 0, alarm: false });
    const at20 = detector.update(0);
    expect(at20.statistic).toBeCloseTo(20 * Math.LN2, 12);
    expect(at20.argmaxWindow).toBe(20);
    expect(at20.alarm).toBe(false);
    const at21 = detector.update(0);
    expect(at21.statistic).toBeCloseTo(21 * Math.LN2, 12);
    expect(at21.alarm).toBe(true);
  });

  it('builds π0 with 0.5 pseudo-counts', () => {
    expect(Array.from(referenceMixFromCounts([3, 0, 1]))).toEqual([3.5 / 5.5, 0.5 / 5.5, 1.5 / 5.5]);
  });

  it('round-trips through JSON and continues identically', () => {
    const random = mulberry32(3);
    const a = new MixGlrDetector({ pi0: [0.2, 0.3, 0.5], window: 10, minWindow: 3, threshold: 4 });
    for (let t = 0; t < 17; t++) a.update(Math.floor(random() * 3));
    const b = MixGlrDetector.fromJSON(JSON.parse(JSON.stringify(a)));
    expect(b.toJSON()).toEqual(a.toJSON());
    for (let t = 0; t < 25; t++) {
      const label = Math.floor(random() * 3);
      expect(b.update(label)).toEqual(a.update(label));
    }
    const open = new MixGlrDetector({ pi0: [0.5, 0.5] });
    expect(JSON.parse(JSON.stringify(open)).threshold).toBeNull();
    expect(MixGlrDetector.fromJSON(JSON.parse(JSON.stringify(open))).threshold).toBe(Infinity);
  });

  it('rejects bad input', () => {
    expect(() => new MixGlrDetector({ pi0: [0.5, 0.5, 0] })).toThrow(/pi0\[2\]/);
    expect(() => new MixGlrDetector({ pi0: [0.5, 0.5], window: 10, minWindow: 11 })).toThrow(/minWindow/);
    expect(() => new MixGlrDetector({ pi0: [0.5, 0.5] }).update(2)).toThrow(/label 2/);
    expect(() => MixGlrDetector.fromJSON({ kind: 'bernoulliCusum' } as never)).toThrow(/kind/);
  });
});

describe('Bernoulli CUSUM', () => {
  it('follows hand-computed values for p0 = 0.2, p1 = 0.4 and resets after an alarm', () => {
    // ln(0.4/0.2) = 0.693147, ln(0.6/0.8) = −0.287682.
    const cusum = new BernoulliCusum({ p0: 0.2, p1: 0.4, threshold: 1.5 });
    const xs = [0, 1, 1, 0, 1, 0, 0, 1];
    const want = [
      [0, false], // max(0, −0.287682)
      [0.693147, false],
      [1.386294, false],
      [1.098612, false], // 1.386294 − 0.287682
      [1.791759, true], // 1.098612 + 0.693147 > 1.5 → reset
      [0, false],
      [0, false],
      [0.693147, false],
    ] as const;
    xs.forEach((x, i) => {
      const got = cusum.update(x as 0 | 1);
      expect(got.statistic).toBeCloseTo(want[i]![0], 6);
      expect(got.alarm).toBe(want[i]![1]);
    });
    expect(cusum.alarms).toBe(1);
    expect(cusum.events).toBe(8);
  });

  it('round-trips through JSON', () => {
    const a = new BernoulliCusum({ p0: 0.2, p1: 0.4, threshold: 3 });
    [1, 1, 0, 1].forEach((x) => a.update(x as 0 | 1));
    const b = BernoulliCusum.fromJSON(JSON.parse(JSON.stringify(a)));
    expect(b.toJSON()).toEqual(a.toJSON());
    for (const x of [1, 1, 1, 0, 1, 1]) expect(b.update(x as 0 | 1)).toEqual(a.update(x as 0 | 1));
    expect(() => new BernoulliCusum({ p0: 0.2, p1: 0.2 })).toThrow(/differ/);
    expect(() => BernoulliCusum.fromJSON({ ...a.toJSON(), statistic: -1 })).toThrow(/statistic/);
  });
});
