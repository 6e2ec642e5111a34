/**
 * Accuracy without labels: confidence-based performance estimation (CBPE, as NannyML), optionally corrected for
 * label shift. Valid when the probabilities are calibrated for the data at hand: under covariate shift with the
 * same p(y | x), or under label shift after reweighting; not under concept shift or on unseen regions.
 *
 * Matrices are row-major typed arrays: `[n, k]` has value (i, c) at `i * k + c`.
 */
import { argmaxRows, checkLabels, rowCount, type RowMatrix } from './calibration';
import { reweightPosteriors } from './label-shift';

export interface AccuracyEstimate {
  /** Estimated accuracy Â = (1/n) Σ_i c_i, c_i = probability that row i's predicted class is right. */
  estimate: number;
  /**
   * Standard error of the window's realized accuracy around Â: given calibrated c_i the correct predictions are
   * independent Bernoulli(c_i), so SE = sqrt(Σ_i c_i (1 − c_i)) / n.
   */
  standardError: number;
  /** Standard error of Â as an estimate of the population's expected accuracy: sd(c) / sqrt(n). */
  populationStandardError: number;
  count: number;
}

/** Summarizes per-row expected correctness c_i into the estimate and its standard errors. O(n). */
function summarize(correctness: Float64Array): AccuracyEstimate {
  const n = correctness.length;
  let sum = 0;
  let bernoulliVariance = 0;
  for (const c of correctness) {
    sum += c;
    bernoulliVariance += c * (1 - c);
  }
  const estimate = sum / n;
  let squares = 0;
  for (const c of correctness) squares += (c - estimate) ** 2;
  const sampleVariance = n > 1 ? squares / (n - 1) : 0;
  return { estimate, standardError: Math.sqrt(bernoulliVariance) / n, populationStandardError: Math.sqrt(sampleVariance / n), count: n };
}

function predictedOf(probabilities: RowMatrix, k: number, n: number, predicted: ArrayLike<number> | undefined): ArrayLike<number> {
  if (predicted === undefined) return argmaxRows(probabilities, k, 'probabilities');
  checkLabels(predicted, n, k, 'predicted');
  return predicted;
}

/**
 * CBPE: Â = (1/n) Σ_i p_i(ŷ_i), with ŷ_i the predicted class (argmax of p_i unless `predicted` is given, e.g. the
 * device's top-1). probabilities: calibrated `[n, k]`. O(nk) time, O(n) memory.
 */
export function expectedAccuracy(probabilities: RowMatrix, k: number, predicted?: ArrayLike<number>): AccuracyEstimate {
  const n = rowCount(probabilities, k, 'probabilities');
  const yHat = predictedOf(probabilities, k, n, predicted);
  const correctness = new Float64Array(n);
  for (let i = 0; i < n; i++) correctness[i] = probabilities[i * k + yHat[i]!]!;
  return summarize(correctness);
}

/**
 * Label-shift-corrected CBPE: reweight each row, p'_i(y) = p_i(y) w_y / Σ_j p_i(j) w_j (w = q/π from EM or BBSE),
 * and take the expected correctness of the class the model predicts, which shift does not change:
 * Â_LS = (1/n) Σ_i p'_i(ŷ_i), ŷ_i = argmax_y p_i(y) unless `predicted` is given.
 * probabilities: calibrated source posteriors `[n, k]`; weights: k entries ≥ 0. O(nk) time and memory.
 */
export function labelShiftCorrectedAccuracy(probabilities: RowMatrix, k: number, weights: ArrayLike<number>, predicted?: ArrayLike<number>): AccuracyEstimate {
  const n = rowCount(probabilities, k, 'probabilities');
  if (weights.length === 0) throw new Error('weights is empty: need one weight per class');
  for (let c = 0; c < weights.length; c++) {
    const w = weights[c]!;
    if (!(w >= 0) || !Number.isFinite(w)) throw new Error(`weights[${c}] = ${w} is not a finite number >= 0`);
  }
  const yHat = predictedOf(probabilities, k, n, predicted);
  const adjusted = reweightPosteriors(probabilities, k, weights);
  const correctness = new Float64Array(n);
  for (let i = 0; i < n; i++) correctness[i] = adjusted[i * k + yHat[i]!]!;
  return summarize(correctness);
}
