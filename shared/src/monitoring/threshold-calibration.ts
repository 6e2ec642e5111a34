/**
 * Joint thresholds for the three sequential detectors by simulation (design §3): under the reference, the chance
 * that ANY of them alarms within `horizon` admitted events is at most falseAlarmRate. Each detector's threshold is
 * the (1 − α′) quantile of its per-stream maximum; α′ is bisected so that the share of streams where any detector
 * exceeds its threshold is ≤ the target. The detectors are positively correlated on device-blocked streams, so α′
 * ends up above Bonferroni's rate / 3. The realized rate is then measured on fresh streams.
 *
 * The MMD path of a stream is computed with table lookups: K_sim [S, S] (the kernel between simulation rows) and
 * ρ [S] (each simulation row's kernel sum against the reference), so an event costs O(window) instead of
 * O((|R| + window) · r); the statistic is the same unbiased MMD² SlidingMmdWindow maintains.
 */
import { mulberry32 } from '../seeded-random';
import { DEFAULT_SIGMA_MULTIPLIERS, mmd2FromSums, rbfKernelMatrix, referenceKernelSum, type MmdReference } from './mmd';
import { NullStreamSampler, type NullStreamShape } from './null-streams';
import { maximaThreshold, validationSeed, wilsonInterval } from './null-simulation';
import { BernoulliCusum, MixGlrDetector } from './sequential';

export interface SimulationPool {
  /** Simulation rows' projections [S, r] (float32-rounded like the monitor's), predicted class [S], low-confidence flag [S]. */
  projected: Float64Array;
  predicted: Int32Array;
  lowConfidence: Uint8Array;
  /** Each row's k-means cluster [S]. */
  clusters: Int32Array;
}

export interface DetectorConfig {
  pi0: Float64Array;
  window: number;
  glrMinWindow: number;
  cusumP0: number;
  cusumP1: number;
  mmdReference: MmdReference;
  /** The reference's base bandwidth σ (its kernels average σ·DEFAULT_SIGMA_MULTIPLIERS). */
  mmdSigma: number;
  mmdMinWindow: number;
}

export interface JointCalibration {
  /** [3] in SEQUENTIAL_DETECTORS order: class mix (GLR), confidence (CUSUM), embedding (MMD z). */
  thresholds: Float64Array;
  perDetectorLevel: number;
  /** Share of the calibration streams with any alarm; aimed one binomial SE below the target (see calibrateJointThresholds). */
  calibrationRate: number;
  /** Null mean and sd of MMD² per window size mmdMinWindow .. min(window, horizon). */
  mmdNullMean: Float64Array;
  mmdNullSd: Float64Array;
  validation: { streams: number; rate: number; interval: [number, number]; perDetector: [number, number, number] } | null;
}

/** Per-event statistics of one simulated stream. */
interface StreamPaths {
  glrMax: number;
  cusumMax: number;
  /** MMD² after each admitted event [horizon]; NaN where the window is below mmdMinWindow. */
  mmd2: Float64Array;
}

class TableMmdWindow {
  private readonly rows: Int32Array;
  private readonly windowSums: Float64Array;
  private start = 0;
  private count = 0;
  private sumRW = 0;
  private sumWW = 0;

  constructor(
    private readonly kernel: Float64Array,
    private readonly pool: number,
    private readonly referenceSums: Float64Array,
    private readonly capacity: number,
  ) {
    this.rows = new Int32Array(capacity);
    this.windowSums = new Float64Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  push(row: number): void {
    const { kernel, pool, rows, windowSums, capacity } = this;
    if (this.count === capacity) {
      const slot = this.start;
      this.start = (this.start + 1) % capacity;
      this.count--;
      const base = rows[slot]! * pool;
      for (let a = 0; a < this.count; a++) {
        const other = (this.start + a) % capacity;
        windowSums[other] = windowSums[other]! - kernel[base + rows[other]!]!;
      }
      this.sumWW -= 2 * windowSums[slot]!;
      this.sumRW -= this.referenceSums[rows[slot]!]!;
    }
    const slot = (this.start + this.count) % capacity;
    const base = row * pool;
    let own = 0;
    for (let a = 0; a < this.count; a++) {
      const other = (this.start + a) % capacity;
      const value = kernel[base + rows[other]!]!;
      windowSums[other] = windowSums[other]! + value;
      own += value;
    }
    rows[slot] = row;
    windowSums[slot] = own;
    this.sumWW += 2 * own;
    this.sumRW += this.referenceSums[row]!;
    this.count++;
  }

  mmd2(reference: MmdReference): number {
    return mmd2FromSums(reference, this.count, this.sumWW, this.sumRW);
  }
}

export class DetectorSimulator {
  private readonly kernel: Float64Array;
  private readonly referenceSums: Float64Array;
  private readonly sampler: NullStreamSampler;
  private readonly size: number;

  constructor(
    readonly pool: SimulationPool,
    readonly config: DetectorConfig,
    readonly shape: NullStreamShape,
  ) {
    const { dim } = config.mmdReference;
    this.size = pool.predicted.length;
    this.kernel = rbfKernelMatrix(pool.projected, dim, config.mmdSigma, DEFAULT_SIGMA_MULTIPLIERS);
    this.referenceSums = new Float64Array(this.size);
    for (let i = 0; i < this.size; i++) this.referenceSums[i] = referenceKernelSum(config.mmdReference, pool.projected.subarray(i * dim, (i + 1) * dim));
    this.sampler = new NullStreamSampler(pool.clusters, shape);
  }

  /** Runs the three threshold-free detectors over one null stream. O(horizon · window). */
  run(random: () => number): StreamPaths {
    const { config, pool } = this;
    const rows = this.sampler.stream(random);
    const glr = new MixGlrDetector({ pi0: config.pi0, window: config.window, minWindow: config.glrMinWindow });
    const cusum = new BernoulliCusum({ p0: config.cusumP0, p1: config.cusumP1 });
    const mmd = new TableMmdWindow(this.kernel, this.size, this.referenceSums, config.window);
    const mmd2 = new Float64Array(this.shape.horizon).fill(NaN);
    let glrMax = 0;
    let cusumMax = 0;
    for (let t = 0; t < rows.length; t++) {
      const row = rows[t]!;
      glrMax = Math.max(glrMax, glr.update(pool.predicted[row]!).statistic);
      cusumMax = Math.max(cusumMax, cusum.update(pool.lowConfidence[row] === 1).statistic);
      mmd.push(row);
      if (mmd.size >= config.mmdMinWindow) mmd2[t] = mmd.mmd2(config.mmdReference);
    }
    return { glrMax, cusumMax, mmd2 };
  }
}

/** The window size after admitted event t (0-based). */
const sizeAt = (t: number, window: number): number => Math.min(t + 1, window);

/** Max over t of the MMD z-score (MMD²_t − mean_s)/sd_s, s = window size; −Infinity when the window never reaches the minimum. */
function maxZ(path: Float64Array, mean: Float64Array, sd: Float64Array, minWindow: number, window: number): number {
  let max = -Infinity;
  for (let t = 0; t < path.length; t++) {
    const value = path[t]!;
    if (Number.isNaN(value)) continue;
    const index = Math.min(sizeAt(t, window), minWindow + mean.length - 1) - minWindow;
    max = Math.max(max, (value - mean[index]!) / sd[index]!);
  }
  return max;
}

/** Largest per-detector level a ≤ target with (share of streams where any detector exceeds its (1 − a) quantile) ≤ target. */
function bisectLevel(maxima: Float64Array[], target: number): { level: number; thresholds: Float64Array; rate: number } {
  const evaluate = (level: number) => {
    const thresholds = Float64Array.from(maxima, (m) => maximaThreshold(m, level));
    let any = 0;
    for (let s = 0; s < maxima[0]!.length; s++) if (maxima.some((m, d) => m[s]! > thresholds[d]!)) any++;
    return { level, thresholds, rate: any / maxima[0]!.length };
  };
  let low = evaluate(target / maxima.length);
  const high = evaluate(target);
  if (high.rate <= target) return high;
  let hi = target;
  for (let i = 0; i < 30; i++) {
    const mid = (low.level + hi) / 2;
    const at = evaluate(mid);
    if (at.rate <= target) low = at;
    else hi = mid;
  }
  return low;
}

/**
 * Calibrates the three thresholds on `streams` null streams from `seed`, then measures the any-alarm rate on
 * `validationStreams` fresh streams (seed scrambled by validationSeed). Deterministic in the seed.
 * O((streams + validationStreams) · horizon · window) plus the tables' O(S² · r).
 */
export function calibrateJointThresholds(simulator: DetectorSimulator, options: { streams: number; validationStreams: number; falseAlarmRate: number; seed: number; margin?: number }): JointCalibration {
  const { horizon } = simulator.shape;
  const { window, mmdMinWindow } = simulator.config;
  const random = mulberry32(options.seed);
  const glr = new Float64Array(options.streams);
  const cusum = new Float64Array(options.streams);
  const paths: Float64Array[] = [];
  for (let s = 0; s < options.streams; s++) {
    const run = simulator.run(random);
    glr[s] = run.glrMax;
    cusum[s] = run.cusumMax;
    paths.push(run.mmd2);
  }
  const sizes = Math.min(window, horizon) - mmdMinWindow + 1;
  const sum = new Float64Array(sizes);
  const squares = new Float64Array(sizes);
  const counts = new Float64Array(sizes);
  for (const path of paths) {
    for (let t = 0; t < path.length; t++) {
      const value = path[t]!;
      if (Number.isNaN(value)) continue;
      const index = Math.min(sizeAt(t, window), mmdMinWindow + sizes - 1) - mmdMinWindow;
      sum[index]! += value;
      squares[index]! += value * value;
      counts[index]!++;
    }
  }
  const mmdNullMean = new Float64Array(sizes);
  const mmdNullSd = new Float64Array(sizes);
  for (let i = 0; i < sizes; i++) {
    // A size no stream reached (the cap starved it) borrows its neighbour's moments.
    if (counts[i]! < 2) {
      mmdNullMean[i] = i > 0 ? mmdNullMean[i - 1]! : 0;
      mmdNullSd[i] = i > 0 ? mmdNullSd[i - 1]! : 1;
      continue;
    }
    const mean = sum[i]! / counts[i]!;
    mmdNullMean[i] = mean;
    mmdNullSd[i] = Math.max(1e-12, Math.sqrt(Math.max(0, squares[i]! / counts[i]! - mean * mean) * (counts[i]! / (counts[i]! - 1))));
  }
  const mmd = Float64Array.from(paths, (path) => maxZ(path, mmdNullMean, mmdNullSd, mmdMinWindow, window));
  // The thresholds are quantiles of B simulated maxima, so the rate they give on fresh streams scatters around the
  // in-sample one by about one binomial SE; aiming `margin` SEs below the target keeps the realized rate at or under it.
  const target = options.falseAlarmRate;
  const aim = Math.max(target / 2, target - (options.margin ?? 1) * Math.sqrt((target * (1 - target)) / options.streams));
  const { level, thresholds, rate } = bisectLevel([glr, cusum, mmd], aim);
  let validation: JointCalibration['validation'] = null;
  if (options.validationStreams > 0) {
    const fresh = mulberry32(validationSeed(options.seed));
    let any = 0;
    const per: [number, number, number] = [0, 0, 0];
    for (let s = 0; s < options.validationStreams; s++) {
      const run = simulator.run(fresh);
      const values = [run.glrMax, run.cusumMax, maxZ(run.mmd2, mmdNullMean, mmdNullSd, mmdMinWindow, window)];
      const alarms = values.map((value, d) => value > thresholds[d]!);
      alarms.forEach((alarm, d) => (per[d] = per[d]! + (alarm ? 1 : 0)));
      if (alarms.some(Boolean)) any++;
    }
    const n = options.validationStreams;
    validation = { streams: n, rate: any / n, interval: wilsonInterval(any, n), perDetector: [per[0] / n, per[1] / n, per[2] / n] };
  }
  return { thresholds, perDetectorLevel: level, calibrationRate: rate, mmdNullMean, mmdNullSd, validation };
}
