/**
 * Thresholds for sequential detectors by simulation: run a detector's statistic over many seeded null streams,
 * take the (1 − α) quantile of each stream's running maximum as h (so at most a fraction α of null streams ever
 * exceed h within the horizon), and check the achieved false-alarm rate on fresh streams.
 */
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import { mulberry32 } from '../seeded-random';

/** One stream's statistic: fed one event, returns the statistic after it (no resets: threshold-free). */
export type StreamStatistic<E> = (event: E) => number;

/** Draws event t (0-based) of a stream from `random` (uniform [0, 1)). */
export type EventSampler<E> = (random: () => number, t: number) => E;

export interface StreamSimulation<E> {
  /** A fresh, threshold-free statistic per stream (e.g. a detector built with threshold omitted). */
  newStatistic: () => StreamStatistic<E>;
  sampleEvent: EventSampler<E>;
  /** Events per stream (e.g. 300). */
  horizon: number;
  /** Number of streams (e.g. 2,000). */
  streams: number;
  seed: number;
}

function checkSimulation<E>(sim: StreamSimulation<E>): void {
  if (!Number.isInteger(sim.horizon) || sim.horizon < 1) throw new Error(`horizon = ${sim.horizon} must be an integer >= 1`);
  if (!Number.isInteger(sim.streams) || sim.streams < 1) throw new Error(`streams = ${sim.streams} must be an integer >= 1`);
}

/**
 * Per stream s: M_s = max_{1≤t≤horizon} statistic_t (−Infinity never occurs: at least one event). All streams draw
 * from one mulberry32(seed) in order, so the result is the same for the same seed. Returns `[streams]`.
 * O(streams · horizon · cost of one update).
 */
export function streamMaxima<E>(sim: StreamSimulation<E>): Float64Array {
  checkSimulation(sim);
  const random = mulberry32(sim.seed);
  const maxima = new Float64Array(sim.streams);
  for (let s = 0; s < sim.streams; s++) {
    const statistic = sim.newStatistic();
    let max = -Infinity;
    for (let t = 0; t < sim.horizon; t++) {
      const value = statistic(sim.sampleEvent(random, t));
      if (value > max) max = value;
    }
    maxima[s] = max;
  }
  return maxima;
}

/**
 * Per stream: the 1-based index of the first event whose statistic exceeds `threshold` (> h), or 0 when none does
 * within the horizon. Returns `[streams]`. O(streams · horizon · update), stopping each stream at its alarm.
 */
export function firstAlarms<E>(sim: StreamSimulation<E>, threshold: number): Int32Array {
  checkSimulation(sim);
  const random = mulberry32(sim.seed);
  const out = new Int32Array(sim.streams);
  for (let s = 0; s < sim.streams; s++) {
    const statistic = sim.newStatistic();
    for (let t = 0; t < sim.horizon; t++) {
      if (statistic(sim.sampleEvent(random, t)) > threshold) {
        out[s] = t + 1;
        break;
      }
    }
  }
  return out;
}

/**
 * Smallest observed value h with #{M_s > h} ≤ α·B: h = M_(⌈(1−α)B⌉) (1-based order statistic), so the in-sample
 * false-alarm fraction is ≤ α (ties can make it smaller). maxima `[B]`, α in (0, 1). O(B log B).
 */
export function maximaThreshold(maxima: Float64Array, alpha: number): number {
  if (!(alpha > 0 && alpha < 1)) throw new Error(`alpha = ${alpha} must be in (0, 1)`);
  if (maxima.length === 0) throw new Error('maxima is empty');
  const sorted = Float64Array.from(maxima).sort();
  const rank = Math.max(1, Math.ceil((1 - alpha) * sorted.length - 1e-9));
  return sorted[rank - 1]!;
}

export interface CalibrationOptions {
  /** Target probability of any alarm within the horizon on a null stream, e.g. 0.05. */
  alpha: number;
  /** Fresh null streams for the check; default = streams. 0 skips the check. */
  validationStreams?: number;
}

export interface ThresholdCalibration {
  threshold: number;
  alpha: number;
  horizon: number;
  /** Fraction of the calibration streams with M_s > h (≤ α). */
  calibrationRate: number;
  /** Fraction of fresh streams (seed derived from the calibration seed) with any alarm; NaN when skipped. */
  validationRate: number;
  validationStreams: number;
  /** Wilson 95% interval of the validation rate; NaN when skipped. */
  validationInterval: [number, number];
}

/** z of a two-sided 95% interval: the standard normal's 0.975 quantile, 1.95996…. Pure, so bundles that never read it drop it. */
export const Z95 = /* @__PURE__ */ normalQuantile(0.975, 0, 1);

/** Wilson score interval for x successes in n trials at z (default Z95, a 95% interval). O(1). */
export function wilsonInterval(x: number, n: number, z = Z95): [number, number] {
  if (n <= 0) return [NaN, NaN];
  const p = x / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  // At x = 0 (x = n) the lower (upper) end is exactly 0 (1); rounding would leave it at 1e-18 and exclude the estimate.
  return [x <= 0 ? 0 : Math.max(0, centre - half), x >= n ? 1 : Math.min(1, centre + half)];
}

/** Seed of the validation streams: a fixed scramble of the calibration seed, so the two never coincide. */
export const validationSeed = (seed: number): number => (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ 0x5bd1e995) >>> 0;

/**
 * Calibrates h for one detector: M = streamMaxima(sim), h = maximaThreshold(M, α), then the realized rate
 * #{M'_s > h}/B' on B' fresh streams from validationSeed(seed). Deterministic in the seed.
 * O((B + B') · horizon · update).
 */
export function calibrateThreshold<E>(sim: StreamSimulation<E>, options: CalibrationOptions): ThresholdCalibration {
  const maxima = streamMaxima(sim);
  const threshold = maximaThreshold(maxima, options.alpha);
  const exceed = (values: Float64Array) => values.reduce((n, v) => n + (v > threshold ? 1 : 0), 0);
  const validationStreams = options.validationStreams ?? sim.streams;
  let validationRate = NaN;
  let validationInterval: [number, number] = [NaN, NaN];
  if (validationStreams > 0) {
    const fresh = streamMaxima({ ...sim, streams: validationStreams, seed: validationSeed(sim.seed) });
    const x = exceed(fresh);
    validationRate = x / validationStreams;
    validationInterval = wilsonInterval(x, validationStreams);
  }
  return {
    threshold,
    alpha: options.alpha,
    horizon: sim.horizon,
    calibrationRate: exceed(maxima) / maxima.length,
    validationRate,
    validationStreams,
    validationInterval,
  };
}

/** Draws a class index from cumulative proportions `cumulative` (K entries, last = 1) by binary search. O(log K). */
export function sampleCategorical(random: () => number, cumulative: Float64Array): number {
  const u = random() * cumulative[cumulative.length - 1]!;
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (u < cumulative[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Running sums of proportions (K → K). O(K). */
export function cumulativeProportions(proportions: ArrayLike<number>): Float64Array {
  const out = new Float64Array(proportions.length);
  let sum = 0;
  for (let c = 0; c < proportions.length; c++) out[c] = sum += proportions[c]!;
  return out;
}
