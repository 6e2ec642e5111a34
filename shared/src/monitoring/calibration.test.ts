import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../seeded-random';
import { expectedCalibrationError, fitTemperature, goldenSectionMinimize, meanNegativeLogLikelihood, softmaxWithTemperature } from './calibration';

function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** Logits z ~ N(0, spread²) per class and labels drawn from softmax(z): softmax(z) is exactly calibrated. */
function calibratedSample(seed: number, n: number, k: number, spread: number): { logits: Float64Array; labels: Int32Array } {
  const random = mulberry32(seed);
  const logits = new Float64Array(n * k);
  for (let i = 0; i < logits.length; i++) logits[i] = spread * normal(random);
  const probabilities = softmaxWithTemperature(logits, k);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let u = random();
    let c = 0;
    while (c < k - 1 && u >= probabilities[i * k + c]!) u -= probabilities[i * k + c++]!;
    labels[i] = c;
  }
  return { logits, labels };
}

describe('softmax with temperature', () => {
  it('gives rows that sum to 1, flattens with T > 1 and survives huge logits', () => {
    const p = softmaxWithTemperature(Float64Array.from([1, 2, 3, 1000, 0, -1000]), 3, 1);
    expect(p[0]! + p[1]! + p[2]!).toBeCloseTo(1, 12);
    expect(p[2]).toBeCloseTo(Math.exp(3) / (Math.exp(1) + Math.exp(2) + Math.exp(3)), 12);
    expect(Array.from(p.slice(3))).toEqual([1, 0, 0]);
    const hot = softmaxWithTemperature(Float32Array.from([0, Math.log(4)]), 2, 2);
    expect(hot[1]).toBeCloseTo(2 / 3, 6);
  });

  it('names the argument it refuses', () => {
    expect(() => softmaxWithTemperature(new Float64Array(0), 3)).toThrow(/logits is empty/);
    expect(() => softmaxWithTemperature(new Float64Array(5), 3)).toThrow(/logits has 5 values/);
    expect(() => softmaxWithTemperature(new Float64Array(3), 3, 0)).toThrow(/temperature/);
  });
});

describe('temperature fitting', () => {
  for (const trueTemperature of [2.5, 0.5]) {
    it(`recovers T0 = ${trueTemperature} from logits scaled by T0 on a calibrated simulator (20k rows, within 2%)`, () => {
      const { logits, labels } = calibratedSample(7, 20_000, 5, 1.5);
      const scaled = logits.map((z) => z * trueTemperature);
      const fit = fitTemperature(scaled, labels, 5);
      expect(Math.abs(fit.temperature / trueTemperature - 1)).toBeLessThan(0.02);
      expect(fit.nll).toBeLessThan(fit.nllAtOne);
      expect(fit.nll).toBeCloseTo(meanNegativeLogLikelihood(scaled, labels, 5, fit.temperature), 12);
      expect(fit.atBound).toBe(false);
    });
  }

  it('is deterministic and reports a bound hit', () => {
    const logits = Float64Array.from([5, 0, 0, 5]);
    const labels = [1, 0];
    expect(fitTemperature(logits, labels, 2)).toEqual(fitTemperature(logits, labels, 2));
    expect(fitTemperature(logits, labels, 2).atBound).toBe(true);
  });

  it('finds the minimum of a parabola by golden section', () => {
    const { x, iterations } = goldenSectionMinimize((t) => (t - 0.3) ** 2, -3, 3, 1e-8);
    expect(x).toBeCloseTo(0.3, 7);
    expect(iterations).toBeLessThan(50);
  });

  it('names the argument it refuses', () => {
    expect(() => fitTemperature(new Float64Array(0), [], 3)).toThrow(/logits is empty/);
    expect(() => fitTemperature(new Float64Array(6), [], 3)).toThrow(/labels is empty/);
    expect(() => fitTemperature(new Float64Array(6), [0, 3], 3)).toThrow(/labels\[1\] = 3/);
  });
});

describe('expected calibration error', () => {
  it('matches a hand computation with the metrics definition (15 equal bins)', () => {
    // Rows: conf 0.9 right, 0.9 wrong, 0.6 right, 1.0 right (1.0 falls in the last bin).
    const p = Float32Array.from([0.9, 0.1, 0.1, 0.9, 0.6, 0.4, 1, 0]);
    const { ece, bins } = expectedCalibrationError(p, [0, 0, 0, 0], 2);
    // bin 13 ([0.867, 0.933)): 2 rows, conf 0.9, acc 0.5; bin 9: 1 row, conf 0.6, acc 1; bin 14: conf 1, acc 1.
    const expected = (2 / 4) * Math.abs(0.5 - 0.9) + (1 / 4) * Math.abs(1 - 0.6) + 0;
    expect(ece).toBeCloseTo(expected, 6);
    expect(bins).toHaveLength(15);
    expect(bins[13]!.count).toBe(2);
    expect(bins[14]!.count).toBe(1);
  });

  it('is near 0 for a calibrated model and drops after temperature scaling a miscalibrated one', () => {
    const { logits, labels } = calibratedSample(11, 20_000, 5, 1.5);
    expect(expectedCalibrationError(softmaxWithTemperature(logits, 5), labels, 5).ece).toBeLessThan(0.02);
    const overconfident = logits.map((z) => z * 3);
    const before = expectedCalibrationError(softmaxWithTemperature(overconfident, 5), labels, 5).ece;
    const { temperature } = fitTemperature(overconfident, labels, 5);
    const after = expectedCalibrationError(softmaxWithTemperature(overconfident, 5, temperature), labels, 5).ece;
    expect(before).toBeGreaterThan(0.1);
    expect(after).toBeLessThan(0.02);
  });

  it('names the argument it refuses', () => {
    expect(() => expectedCalibrationError(new Float64Array(0), [], 2)).toThrow(/probabilities is empty/);
  });
});
