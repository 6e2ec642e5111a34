/**
 * Label-shift estimation: EM prior adjustment (Saerens, Latinne & Decaestecker 2002) and black-box shift
 * estimation, BBSE (Lipton, Wang & Smola 2018). Both assume p(x | y) is unchanged and only p(y) moved.
 *
 * Matrices are row-major typed arrays: `[n, k]` has value (i, c) at `i * k + c`.
 */
import { LuDecomposition, Matrix } from 'ml-matrix';
import { checkLabels, requireNonEmpty, rowCount, type RowMatrix } from './calibration';

export interface PriorEstimate {
  /** Estimated target class priors q, summing to 1. */
  priors: Float64Array;
  /** Per-class importance weights w_c = q_c / π_c (0 where π_c = 0). */
  weights: Float64Array;
}

export interface EmPriorResult extends PriorEstimate {
  iterations: number;
  /** True when ‖q_t − q_{t−1}‖₁ fell below the tolerance within maxIterations. */
  converged: boolean;
}

export interface EmOptions {
  /** Stop when the L1 change of q falls below this; default 1e-6. */
  tolerance?: number;
  /** Default 100. */
  maxIterations?: number;
}

/** Checks that a prior vector has k entries, each >= 0, summing to 1 (±1e-6). */
export function checkPriors(priors: ArrayLike<number>, k: number, name: string): void {
  requireNonEmpty(priors.length, name);
  if (priors.length !== k) throw new Error(`${name} has ${priors.length} entries, expected k = ${k}`);
  let sum = 0;
  for (let c = 0; c < k; c++) {
    const p = priors[c]!;
    if (!(p >= 0) || !Number.isFinite(p)) throw new Error(`${name}[${c}] = ${p} is not a finite number >= 0`);
    sum += p;
  }
  if (Math.abs(sum - 1) > 1e-6) throw new Error(`${name} sums to ${sum}, not 1`);
}

/**
 * Posteriors under new priors: p'_ic = p_ic w_c / Σ_j p_ij w_j (Bayes' rule with w = q/π). Rows whose reweighted
 * mass is 0 are left as they were. probabilities `[n, k]`, weights k; returns `[n, k]`. O(nk).
 */
export function reweightPosteriors(probabilities: RowMatrix, k: number, weights: ArrayLike<number>): Float64Array {
  const n = rowCount(probabilities, k, 'probabilities');
  if (weights.length !== k) throw new Error(`weights has ${weights.length} entries, expected k = ${k}`);
  const out = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    let mass = 0;
    for (let c = 0; c < k; c++) mass += probabilities[i * k + c]! * weights[c]!;
    for (let c = 0; c < k; c++) out[i * k + c] = mass > 0 ? (probabilities[i * k + c]! * weights[c]!) / mass : probabilities[i * k + c]!;
  }
  return out;
}

function weightsFromPriors(target: ArrayLike<number>, source: ArrayLike<number>, k: number): Float64Array {
  const w = new Float64Array(k);
  for (let c = 0; c < k; c++) w[c] = source[c]! > 0 ? target[c]! / source[c]! : 0;
  return w;
}

/**
 * EM prior adjustment (Saerens et al. 2002). Start q⁰ = π; repeat
 *   p'_i(y) = p_i(y) q(y)/π(y) / Σ_j p_i(j) q(j)/π(j),   q(y) = (1/n) Σ_i p'_i(y)
 * until ‖q_t − q_{t−1}‖₁ < tolerance or maxIterations. Each step increases the target likelihood, so q converges
 * to the maximum-likelihood target prior given calibrated source posteriors.
 * probabilities: calibrated `[n, k]` posteriors under the source priors; sourcePriors: π, k entries summing to 1.
 * O(nk) per iteration, O(nk · iterations) total; O(k) extra memory.
 */
export function estimatePriorsEm(probabilities: RowMatrix, k: number, sourcePriors: ArrayLike<number>, options: EmOptions = {}): EmPriorResult {
  const n = rowCount(probabilities, k, 'probabilities');
  checkPriors(sourcePriors, k, 'sourcePriors');
  const tolerance = options.tolerance ?? 1e-6;
  const maxIterations = options.maxIterations ?? 100;
  let q: Float64Array = Float64Array.from(sourcePriors);
  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations && !converged) {
    iterations++;
    const next = emStep(probabilities, n, k, weightsFromPriors(q, sourcePriors, k));
    let change = 0;
    for (let c = 0; c < k; c++) change += Math.abs(next[c]! - q[c]!);
    q = next;
    converged = change < tolerance;
  }
  return { priors: q, weights: weightsFromPriors(q, sourcePriors, k), iterations, converged };
}

/** One EM step: mean of the reweighted posteriors. O(nk). */
function emStep(probabilities: RowMatrix, n: number, k: number, w: Float64Array): Float64Array {
  const sums = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    let mass = 0;
    for (let c = 0; c < k; c++) mass += probabilities[i * k + c]! * w[c]!;
    if (mass <= 0) continue;
    for (let c = 0; c < k; c++) sums[c]! += (probabilities[i * k + c]! * w[c]!) / mass;
  }
  let total = 0;
  for (let c = 0; c < k; c++) total += sums[c]!;
  for (let c = 0; c < k; c++) sums[c] = total > 0 ? sums[c]! / total : 1 / k;
  return sums;
}

/**
 * Joint confusion of hard predictions on labelled source data: C[i][j] = P(ŷ = i, y = j) = count(ŷ=i, y=j) / n,
 * returned row-major `[k, k]` (row = predicted class, column = true class), summing to 1. Its column sums are the
 * source label priors π and its row sums the predicted-class mix. O(n + k²).
 */
export function jointConfusion(predicted: ArrayLike<number>, labels: ArrayLike<number>, k: number): Float64Array {
  checkLabels(predicted, predicted.length, k, 'predicted');
  checkLabels(labels, predicted.length, k);
  const n = predicted.length;
  const c = new Float64Array(k * k);
  for (let i = 0; i < n; i++) c[predicted[i]! * k + labels[i]!]! += 1 / n;
  return c;
}

/** Share of each predicted class, μ̂_i = count(ŷ = i) / n; k entries. O(n + k). */
export function predictedClassMix(predicted: ArrayLike<number>, k: number): Float64Array {
  checkLabels(predicted, predicted.length, k, 'predicted');
  const mix = new Float64Array(k);
  for (let i = 0; i < predicted.length; i++) mix[predicted[i]!]! += 1 / predicted.length;
  return mix;
}

/** Thrown when a matrix cannot be solved: a pivot vanished in Gaussian elimination. */
export class SingularMatrixError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SingularMatrixError';
  }
}

/**
 * Inverse of a row-major `[k, k]` matrix by ml-matrix's LU decomposition with partial pivoting (PA = LU, then k
 * solves). Throws SingularMatrixError when a pivot's magnitude is ≤ `relativePivot` · max|A|: ml-matrix refuses only
 * exact zeros, and a confusion matrix with a class the model almost never predicts must count as singular too.
 * O(k³) time, O(k²) memory.
 */
export function invert(a: ArrayLike<number>, k: number, relativePivot = 1e-12): Float64Array {
  if (a.length !== k * k) throw new Error(`matrix has ${a.length} values, expected k² = ${k * k}`);
  let scale = 0;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(a[i]!));
  const lu = new LuDecomposition(Matrix.from1DArray(k, k, a));
  const upper = lu.upperTriangularMatrix;
  for (let i = 0; i < k; i++) {
    if (!(Math.abs(upper.get(i, i)) > relativePivot * scale)) throw new SingularMatrixError(`matrix is singular: no usable pivot in column ${i}`);
  }
  return Float64Array.from(lu.solve(Matrix.eye(k)).to1DArray());
}

/** Matrix 1-norm (largest absolute column sum) of a row-major `[k, k]` matrix. O(k²). */
export function oneNorm(a: ArrayLike<number>, k: number): number {
  let best = 0;
  for (let c = 0; c < k; c++) {
    let s = 0;
    for (let r = 0; r < k; r++) s += Math.abs(a[r * k + c]!);
    best = Math.max(best, s);
  }
  return best;
}

export interface BbseOptions {
  /** κ₁(C) above which the estimate is flagged `illConditioned`; default 1e4. */
  maxConditionNumber?: number;
  /** Number of target events behind targetMix; when given, delta-method standard errors of w are returned. */
  targetCount?: number;
}

export interface BbseResult extends PriorEstimate {
  /** w = C⁻¹ μ̂ before clipping (may hold negatives from sampling noise). */
  rawWeights: Float64Array;
  /** Source label priors π (column sums of C). */
  sourcePriors: Float64Array;
  /** κ₁(C) = ‖C‖₁ ‖C⁻¹‖₁. */
  conditionNumber: number;
  /** κ₁(C) > maxConditionNumber: w is dominated by noise, do not act on it. */
  illConditioned: boolean;
  /** True when some raw weight was negative and clipped to 0. */
  clipped: boolean;
  /** sqrt(diag Cov(w)), Cov(w) ≈ C⁻¹ (diag μ̂ − μ̂μ̂ᵀ) C⁻ᵀ / N (target sampling only); present with targetCount. */
  weightStandardErrors?: Float64Array;
}

/**
 * Black-box shift estimation (Lipton et al. 2018). With C[i][j] = P_source(ŷ = i, y = j) and μ̂_i = P_target(ŷ = i),
 * label shift gives μ̂ = C w with w_j = q_j / π_j, so w = C⁻¹ μ̂ (C⁻¹ by LU with partial pivoting, see `invert`). Negative w are clipped to 0, then w is rescaled so Σ_j w_j π_j = 1 and q_j = w_j π_j sums to 1.
 * confusion: `[k, k]` row-major joint (see `jointConfusion`); targetMix: k shares. Throws SingularMatrixError when C
 * is singular (e.g. a class the model never predicts); flags `illConditioned` when κ₁(C) > maxConditionNumber.
 * O(k³) time, O(k²) memory.
 */
export function estimatePriorsBbse(confusion: ArrayLike<number>, targetMix: ArrayLike<number>, k: number, options: BbseOptions = {}): BbseResult {
  requireNonEmpty(confusion.length, 'confusion');
  if (confusion.length !== k * k) throw new Error(`confusion has ${confusion.length} values, expected k² = ${k * k}`);
  checkPriors(confusion, k * k, 'confusion');
  checkPriors(targetMix, k, 'targetMix');
  const sourcePriors = columnSums(confusion, k);
  let inverse: Float64Array;
  try {
    inverse = invert(confusion, k);
  } catch (error) {
    if (error instanceof SingularMatrixError) throw new SingularMatrixError(`confusion is singular, BBSE cannot estimate label shift (${error.message})`);
    throw error;
  }
  const rawWeights = matVec(inverse, targetMix, k);
  const { weights, priors, clipped } = clipAndRenormalize(rawWeights, sourcePriors, k);
  const conditionNumber = oneNorm(confusion, k) * oneNorm(inverse, k);
  const result: BbseResult = {
    weights,
    priors,
    rawWeights,
    sourcePriors,
    conditionNumber,
    illConditioned: !(conditionNumber <= (options.maxConditionNumber ?? 1e4)),
    clipped,
  };
  if (options.targetCount !== undefined) result.weightStandardErrors = bbseStandardErrors(inverse, targetMix, k, options.targetCount);
  return result;
}

function columnSums(a: ArrayLike<number>, k: number): Float64Array {
  const sums = new Float64Array(k);
  for (let r = 0; r < k; r++) for (let c = 0; c < k; c++) sums[c]! += a[r * k + c]!;
  return sums;
}

function matVec(a: ArrayLike<number>, v: ArrayLike<number>, k: number): Float64Array {
  const out = new Float64Array(k);
  for (let r = 0; r < k; r++) for (let c = 0; c < k; c++) out[r]! += a[r * k + c]! * v[c]!;
  return out;
}

/** Clip w ≥ 0, rescale so Σ w_j π_j = 1; q = w ∘ π. Falls back to w = 1 if nothing is left. O(k). */
function clipAndRenormalize(raw: Float64Array, sourcePriors: Float64Array, k: number): { weights: Float64Array; priors: Float64Array; clipped: boolean } {
  const weights = raw.map((w) => Math.max(0, w));
  const clipped = raw.some((w) => w < 0);
  let mass = 0;
  for (let c = 0; c < k; c++) mass += weights[c]! * sourcePriors[c]!;
  if (!(mass > 0)) weights.fill(1);
  else for (let c = 0; c < k; c++) weights[c] = weights[c]! / mass;
  const priors = new Float64Array(k);
  for (let c = 0; c < k; c++) priors[c] = weights[c]! * sourcePriors[c]!;
  return { weights, priors, clipped };
}

/** Delta method: Cov(w) ≈ C⁻¹ Σ C⁻ᵀ / N with Σ = diag μ̂ − μ̂μ̂ᵀ; returns sqrt of its diagonal. O(k³). */
function bbseStandardErrors(inverse: Float64Array, mix: ArrayLike<number>, k: number, count: number): Float64Array {
  if (!(count > 0)) throw new Error(`targetCount must be > 0, got ${count}`);
  const se = new Float64Array(k);
  for (let r = 0; r < k; r++) {
    let v = 0;
    for (let a = 0; a < k; a++) {
      for (let b = 0; b < k; b++) {
        const sigma = (a === b ? mix[a]! : 0) - mix[a]! * mix[b]!;
        v += inverse[r * k + a]! * sigma * inverse[r * k + b]!;
      }
    }
    se[r] = Math.sqrt(Math.max(0, v) / count);
  }
  return se;
}
