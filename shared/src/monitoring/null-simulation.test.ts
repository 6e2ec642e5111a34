import { describe, expect, it } from 'vitest';
import { calibrateThreshold, cumulativeProportions, firstAlarms, maximaThreshold, sampleCategorical, streamMaxima, wilsonInterval, type StreamSimulation } from './null-simulation';
import { mulberry32 } from '../seeded-random';
import { BernoulliCusum, MixGlrDetector } from './sequential';

const HORIZON = 300;
const STREAMS = 1_000;
const K = 10;
const UNIFORM = new Array(K).fill(1 / K);
/** Class 0 doubles: 0.2/1.1 vs 0.1/1.1 for the others (KL ≈ 0.031 nats/event: too weak for 90% within 300). */
const DOUBLED = UNIFORM.map((p, c) => (c === 0 ? 2 * p : p) / 1.1);
/** Class 0 disappears (the design's "class removed"): 1/9 for the others (KL ≈ 0.105 nats/event). */
const REMOVED = UNIFORM.map((_, c) => (c === 0 ? 0 : 1 / 9));

const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function mixSimulation(proportions: number[], seed: number): StreamSimulation<number> {
  const cumulative = cumulativeProportions(proportions);
  return {
    newStatistic: () => {
      const detector = new MixGlrDetector({ pi0: UNIFORM, window: 300, minWindow: 20 });
      return (label) => detector.update(label).statistic;
    },
    sampleEvent: (random) => sampleCategorical(random, cumulative),
    horizon: HORIZON,
    streams: STREAMS,
    seed,
  };
}

function lowConfidenceSimulation(rate: number, seed: number): StreamSimulation<boolean> {
  return {
    newStatistic: () => {
      const cusum = new BernoulliCusum({ p0: 0.2, p1: 0.4 });
      return (x) => cusum.update(x).statistic;
    },
    sampleEvent: (random) => random() < rate,
    horizon: HORIZON,
    streams: STREAMS,
    seed,
  };
}

function report(name: string, calibration: ReturnType<typeof calibrateThreshold>, alarms: Int32Array, ms: number) {
  const delays = Array.from(alarms).filter((t) => t > 0);
  const detected = delays.length / alarms.length;
  console.log(
    `${name}: h = ${calibration.threshold.toFixed(3)}, FA calibration ${calibration.calibrationRate.toFixed(3)}, ` +
      `FA fresh ${calibration.validationRate.toFixed(3)} [${calibration.validationInterval.map((v) => v.toFixed(3)).join(', ')}], ` +
      `detected ${(100 * detected).toFixed(1)}%, median delay ${median(delays)}, ${((1000 * ms) / (2 * STREAMS * HORIZON)).toFixed(2)} µs/update (info)`,
  );
  return detected;
}

describe('threshold calibration by null simulation', () => {
  it('picks the order statistic so that at most alpha of the maxima exceed it', () => {
    const maxima = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(maximaThreshold(maxima, 0.05)).toBe(95);
    expect(maximaThreshold(Float64Array.of(3, 1, 2), 0.5)).toBe(2);
    const [lo, hi] = wilsonInterval(50, 1000);
    expect(lo).toBeCloseTo(0.0381, 3);
    expect(hi).toBeCloseTo(0.0653, 3);
  });

  it('Wilson interval: none or all successes reach exactly 0 or 1, so it contains the estimate', () => {
    for (const n of [1, 7, 53, 1000]) {
      expect(wilsonInterval(0, n)[0]).toBe(0);
      expect(wilsonInterval(n, n)[1]).toBe(1);
    }
  });

  it('samples categories in proportion and reports first alarms 1-based (0 = none)', () => {
    const cumulative = cumulativeProportions([0.1, 0.0, 0.6, 0.3]);
    const counts = [0, 0, 0, 0];
    const random = mulberry32(5);
    for (let i = 0; i < 20_000; i++) counts[sampleCategorical(random, cumulative)]! += 1;
    expect(counts[1]).toBe(0);
    counts.forEach((n, c) => expect(n / 20_000).toBeCloseTo([0.1, 0, 0.6, 0.3][c]!, 1));
    const counter = {
      newStatistic: () => {
        let t = 0;
        return () => ++t;
      },
      sampleEvent: () => 0,
      horizon: 5,
      streams: 2,
      seed: 1,
    };
    expect(Array.from(firstAlarms(counter, 3))).toEqual([4, 4]);
    expect(Array.from(firstAlarms(counter, 5))).toEqual([0, 0]);
  });

  it('is deterministic in the seed', () => {
    const sim = { ...lowConfidenceSimulation(0.2, 11), streams: 50 };
    expect(streamMaxima(sim)).toEqual(streamMaxima(sim));
    expect(streamMaxima(sim)).not.toEqual(streamMaxima({ ...sim, seed: 12 }));
  });

  it('GLR: alpha = 0.05 on 1,000 null streams gives 3–7% false alarms on 1,000 fresh ones; detects a removed class', () => {
    const start = performance.now();
    const calibration = calibrateThreshold(mixSimulation(UNIFORM, 2026), { alpha: 0.05 });
    const ms = performance.now() - start;
    expect(calibration.calibrationRate).toBeLessThanOrEqual(0.05);
    expect(calibration.validationRate).toBeGreaterThanOrEqual(0.03);
    expect(calibration.validationRate).toBeLessThanOrEqual(0.07);
    const removed = report('GLR class mix (uniform K=10 -> class 0 removed)', calibration, firstAlarms(mixSimulation(REMOVED, 99), calibration.threshold), ms);
    expect(removed).toBeGreaterThanOrEqual(0.9);
    // Reported, not held to 90%: with 9 free directions the noncentrality after 300 events (2·300·KL ≈ 18) is
    // below 2h ≈ 35, so about half the streams alarm within the horizon. A floor guards against regressions.
    const doubled = report('GLR class mix (uniform K=10 -> class 0 doubled)', calibration, firstAlarms(mixSimulation(DOUBLED, 98), calibration.threshold), ms);
    expect(doubled).toBeGreaterThanOrEqual(0.4);
  });

  it('CUSUM: alpha = 0.05 on 1,000 null streams gives 3–7% false alarms on 1,000 fresh ones; detects 0.2 -> 0.4', () => {
    const start = performance.now();
    const calibration = calibrateThreshold(lowConfidenceSimulation(0.2, 2027), { alpha: 0.05 });
    const ms = performance.now() - start;
    expect(calibration.calibrationRate).toBeLessThanOrEqual(0.05);
    expect(calibration.validationRate).toBeGreaterThanOrEqual(0.03);
    expect(calibration.validationRate).toBeLessThanOrEqual(0.07);
    const alarms = firstAlarms(lowConfidenceSimulation(0.4, 98), calibration.threshold);
    const detected = report('CUSUM low confidence (0.2 -> 0.4)', calibration, alarms, ms);
    expect(detected).toBeGreaterThanOrEqual(0.9);
  });
});
