/**
 * Temperature scaling and expected calibration error (Guo et al. 2017), pure and dependency-free so the hub's
 * monitor, training and the PWA compute the same numbers.
 *
 * Matrices are row-major typed arrays: `[n, k]` means n rows of k values, value (i, c) at `i * k + c`.
 */

/** A row-major `[n, k]` matrix of logits or probabilities. */
export type RowMatrix = Float32Array | Float64Array;

/** Equal-width bins of `evaluatePredictions` (training/src/evaluate/metrics.ts); the default keeps numbers equal. */
export const CALIBRATION_BINS = 15;

/** Search interval and tolerance of `fitTemperature`, in log T. */
export const LOG_TEMPERATURE_BOUNDS = [-3, 3] as const;
export const LOG_TEMPERATURE_TOLERANCE = 1e-6;

export interface TemperatureFit {
  /** Fitted temperature T > 0, in [e^-3, e^3]. */
  temperature: number;
  /** Mean negative log-likelihood at the fitted T (natural log). */
  nll: number;
  /** Mean negative log-likelihood at T = 1 (the uncalibrated model). */
  nllAtOne: number;
  /** Golden-section iterations used. */
  iterations: number;
  /** True when the optimum lies on the search bound (the model is extremely over- or under-confident). */
  atBound: boolean;
}

/** Throws a clear Error when a required input is empty. */
export function requireNonEmpty(length: number, name: string): void {
  if (length === 0) throw new Error(`${name} is empty: need at least one row`);
}

/** Checks that `k` is a whole number of classes >= 2 and that `matrix` holds whole rows of k values; returns n. */
export function rowCount(matrix: RowMatrix, k: number, name: string): number {
  if (!Number.isInteger(k) || k < 2) throw new Error(`k must be an integer >= 2, got ${k}`);
  requireNonEmpty(matrix.length, name);
  if (matrix.length % k !== 0) throw new Error(`${name} has ${matrix.length} values, not a multiple of k = ${k}`);
  return matrix.length / k;
}

/** Checks labels: n integers in [0, k). */
export function checkLabels(labels: ArrayLike<number>, n: number, k: number, name = 'labels'): void {
  requireNonEmpty(labels.length, name);
  if (labels.length !== n) throw new Error(`${name} has ${labels.length} entries but there are ${n} rows`);
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= k) throw new Error(`${name}[${i}] = ${y} is not a class index in [0, ${k})`);
  }
}

/** Index of the largest value of row i (first one on ties, as `evaluatePredictions`). O(k). */
export function argmaxRow(matrix: RowMatrix, k: number, i: number): number {
  let best = 0;
  for (let c = 1; c < k; c++) if (matrix[i * k + c]! > matrix[i * k + best]!) best = c;
  return best;
}

/** Predicted class (argmax) of each row of an `[n, k]` matrix. O(nk). */
export function argmaxRows(matrix: RowMatrix, k: number, name = 'matrix'): Int32Array {
  const n = rowCount(matrix, k, name);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = argmaxRow(matrix, k, i);
  return out;
}

/** log Σ_c exp(z_ic / T) for row i, computed stably (max subtracted). O(k). */
function logSumExpRow(logits: RowMatrix, k: number, i: number, inverseT: number): number {
  let max = -Infinity;
  for (let c = 0; c < k; c++) max = Math.max(max, logits[i * k + c]! * inverseT);
  let sum = 0;
  for (let c = 0; c < k; c++) sum += Math.exp(logits[i * k + c]! * inverseT - max);
  return max + Math.log(sum);
}

/**
 * Softmax with temperature: p_ic = exp(z_ic / T) / Σ_j exp(z_ij / T).
 * logits: `[n, k]` row-major; returns `[n, k]` Float64Array. O(nk) time and memory.
 */
export function softmaxWithTemperature(logits: RowMatrix, k: number, temperature = 1): Float64Array {
  const n = rowCount(logits, k, 'logits');
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new Error(`temperature must be a finite number > 0, got ${temperature}`);
  const inverseT = 1 / temperature;
  const out = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const lse = logSumExpRow(logits, k, i, inverseT);
    for (let c = 0; c < k; c++) out[i * k + c] = Math.exp(logits[i * k + c]! * inverseT - lse);
  }
  return out;
}

/**
 * Mean negative log-likelihood of temperature-scaled logits: (1/n) Σ_i [log Σ_c e^{z_ic/T} − z_{i,y_i}/T].
 * logits `[n, k]`, labels n class indices. O(nk).
 */
export function meanNegativeLogLikelihood(logits: RowMatrix, labels: ArrayLike<number>, k: number, temperature = 1): number {
  const n = rowCount(logits, k, 'logits');
  checkLabels(labels, n, k);
  return meanNll(logits, labels, k, n, 1 / temperature);
}

function meanNll(logits: RowMatrix, labels: ArrayLike<number>, k: number, n: number, inverseT: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) total += logSumExpRow(logits, k, i, inverseT) - logits[i * k + labels[i]!]! * inverseT;
  return total / n;
}

/**
 * Fits the temperature T > 0 minimizing the mean NLL of softmax(z / T) on a validation set.
 * NLL is convex in 1/T (a log-sum-exp of linear functions of 1/T) and unimodal in log T, so golden-section search
 * on log T ∈ [−3, 3] (T ∈ [0.05, 20.1]) finds the minimum; deterministic, stopping when the bracket is narrower
 * than `LOG_TEMPERATURE_TOLERANCE` = 1e-6 in log T (a relative error in T below 1e-6), about 33 iterations.
 * logits `[n, k]` row-major, labels n indices in [0, k). O(nk) per iteration, O(nk · log(6/tol)) total; O(1) memory.
 */
export function fitTemperature(logits: RowMatrix, labels: ArrayLike<number>, k: number): TemperatureFit {
  const n = rowCount(logits, k, 'logits');
  checkLabels(labels, n, k);
  const objective = (logT: number) => meanNll(logits, labels, k, n, Math.exp(-logT));
  const [lower, upper] = LOG_TEMPERATURE_BOUNDS;
  const { x, fx, iterations } = goldenSectionMinimize(objective, lower, upper, LOG_TEMPERATURE_TOLERANCE);
  const edge = 10 * LOG_TEMPERATURE_TOLERANCE;
  return { temperature: Math.exp(x), nll: fx, nllAtOne: objective(0), iterations, atBound: x - lower < edge || upper - x < edge };
}

const INVERSE_PHI = (Math.sqrt(5) - 1) / 2;

/**
 * Golden-section search for the minimum of a unimodal f on [a, b], until b − a < tolerance.
 * Returns the best evaluated point. O(log((b − a) / tolerance)) evaluations of f.
 */
export function goldenSectionMinimize(f: (x: number) => number, a: number, b: number, tolerance: number): { x: number; fx: number; iterations: number } {
  let lo = a;
  let hi = b;
  let x1 = hi - INVERSE_PHI * (hi - lo);
  let x2 = lo + INVERSE_PHI * (hi - lo);
  let f1 = f(x1);
  let f2 = f(x2);
  let iterations = 0;
  while (hi - lo > tolerance) {
    iterations++;
    if (f1 <= f2) {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - INVERSE_PHI * (hi - lo);
      f1 = f(x1);
    } else {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + INVERSE_PHI * (hi - lo);
      f2 = f(x2);
    }
  }
  const candidates: [number, number][] = [[x1, f1], [x2, f2], [a, f(a)], [b, f(b)]];
  const [x, fx] = candidates.reduce((best, c) => (c[1] < best[1] ? c : best));
  return { x, fx, iterations };
}

export interface CalibrationBin {
  /** Mean confidence (max probability) of the rows in the bin; 0 when empty. */
  confidence: number;
  /** Share of the bin's rows whose argmax equals the label; 0 when empty. */
  accuracy: number;
  count: number;
}

/**
 * Expected calibration error with `bins` equal-width confidence bins, the definition of `evaluatePredictions`:
 * confidence c_i = max_c p_ic (first argmax on ties), bin b = min(B − 1, floor(c_i · B)),
 * ECE = Σ_b (n_b / n) · |acc_b − conf_b|. probabilities `[n, k]`, labels n indices. O(nk + B) time, O(B) memory.
 */
export function expectedCalibrationError(
  probabilities: RowMatrix,
  labels: ArrayLike<number>,
  k: number,
  bins = CALIBRATION_BINS,
): { ece: number; bins: CalibrationBin[] } {
  const n = rowCount(probabilities, k, 'probabilities');
  checkLabels(labels, n, k);
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`bins must be an integer >= 1, got ${bins}`);
  const sums = Array.from({ length: bins }, () => ({ confidence: 0, correct: 0, count: 0 }));
  for (let i = 0; i < n; i++) {
    const predicted = argmaxRow(probabilities, k, i);
    const confidence = probabilities[i * k + predicted]!;
    const bin = sums[Math.min(bins - 1, Math.floor(confidence * bins))]!;
    bin.confidence += confidence;
    bin.correct += predicted === labels[i] ? 1 : 0;
    bin.count++;
  }
  const ece = sums.reduce((s, b) => s + (b.count ? (b.count / n) * Math.abs(b.correct / b.count - b.confidence / b.count) : 0), 0);
  return {
    ece,
    bins: sums.map((b) => ({ confidence: b.count ? b.confidence / b.count : 0, accuracy: b.count ? b.correct / b.count : 0, count: b.count })),
  };
}
