/**
 * Accuracy from people's labels when the labeled predictions are a biased sample (the queue shows doubtful ones
 * first): each label carries the probability π_i its prediction had of being chosen (review-policy.ts), and the
 * estimators weigh by w_i = 1/π_i. For labeled item i: c_i = 1 when the label equals the prediction, π_i its inclusion
 * probability, f_i the calibrated probability that the prediction is right (1 − u_i).
 *
 * - naive: the labeled mean with a Wilson interval; biased whenever π depends on how right the model is (shown for
 *   contrast only).
 * - Hájek (ratio) IPW: Â = Σ_L w_i c_i / Σ_L w_i, with the linearization variance of a ratio under Poisson sampling
 *   (Särndal, Swensson & Wretman 1992, §5.7): V = Σ_L (1 − π_i)(c_i − Â)²/π_i² / (Σ_L w_i)².
 * - PPI with an IPW rectifier (prediction-powered inference, Angelopoulos et al. 2023; the survey difference
 *   estimator, Särndal et al. §6.3): Â_PP = λ (1/N) Σ_all f_i + Σ_L w_i (c_i − λ f_i) / Σ_L w_i, consistent whatever
 *   f is because π is known; V = Σ_L (1 − π_i)(r_i − r̄)²/π_i² / (Σ_L w_i)² · n/(n − 1) with r_i = c_i − λ f_i and r̄
 *   its weighted mean. λ as PPI++ (Angelopoulos, Duchi & Zrnic 2023, "power tuning"): the weighted Cov(c, f)/Var(f)
 *   (weights (1 − π_i)/π_i²) that minimizes V, clipped to [0, 1] (λ = 0 is Hájek).
 *
 * Both intervals are Wilson's on the design-effect sample size n_eff = Â(1 − Â)/V (Kish 1965; Korn & Graubard 1998),
 * with n_eff at most 2× Kish's (Σw)²/Σw². Why not Wald or t: with ~50 labels the heavily weighted ones are confident
 * predictions, often all right, so V from the sample is often far too small (measured: intervals under the 10th
 * percentile of width covered 53%); the cap bounds that. Measured over synthetic windows (label-estimates.test.ts and
 * the numbers in the README): Hájek 0.91-0.97 coverage, PPI 0.91-0.99 and a few percent narrower, also when f is
 * 15 points over-confident (where a t interval on PPI covered 82-88%).
 *
 * All O(n) in the labels.
 */
import { wilsonInterval, Z95 } from './null-simulation';

export interface LabeledOutcome {
  /** The label equals the prediction (a confirmation), as 1/0 or true/false. */
  correct: boolean | number;
  /** π_i ∈ (0, 1]: the probability the policy gave the prediction of being chosen for review. */
  inclusionProbability: number;
  /** f_i ∈ [0, 1]: calibrated probability that the prediction is right (needed by PPI only). */
  expectedCorrect?: number;
}

export interface LabelEstimate {
  estimate: number;
  /** 95% (or the z / level asked) interval, within [0, 1]. */
  interval: [number, number];
  labels: number;
}

export interface HajekEstimate extends LabelEstimate {
  variance: number;
  /** Â(1 − Â)/V, the sample size a simple random sample would need for the same variance. */
  effectiveSize: number;
}

export interface PpiEstimate extends LabelEstimate {
  variance: number;
  lambda: number;
  effectiveSize: number;
}

/** The population PPI's first term sums over: every event the policy decided on. */
export interface LabelPopulation {
  /** N: events the policy gave an inclusion probability (labeled or not). */
  events: number;
  /** Σ_all f_i over those N events. */
  expectedCorrect: number;
}

/**
 * The probability that an event ends up labeled when not every queued item gets labeled (the queue shows doubtful ones
 * first, so while it is behind, confident items of the uncertainty component wait): selection and then response,
 *   π'_i = r·ε · ρ_uniform + (π_i − r·ε) · ρ_uncertainty(u_i),
 * since h_i < r·ε picks the uniform component and r·ε ≤ h_i < π_i the other. ρ_uniform is one rate (the queue serves
 * uniform picks oldest first, whatever their uncertainty); ρ_uncertainty(u) is the share labeled among the
 * uncertainty component's assignments in u's stratum (it serves those by uncertainty). Weighting class adjustment for
 * non-response (Little & Rubin 2002, §3.3): valid when, within a class, which items got labeled does not depend on
 * whether the model was right. Every item labeled (ρ = 1) gives π' = π.
 */
export function labeledProbability(inclusionProbability: number, uniformProbability: number, uniformResponse: number, uncertaintyResponse: number): number {
  const pi = inclusionProbability;
  if (!(pi > 0 && pi <= 1)) throw new RangeError(`inclusionProbability must be in (0, 1], got ${pi}`);
  if (!(uniformProbability > 0 && uniformProbability <= pi)) throw new RangeError(`uniformProbability must be in (0, inclusionProbability], got ${uniformProbability}`);
  for (const [name, rho] of [['uniformResponse', uniformResponse], ['uncertaintyResponse', uncertaintyResponse]] as const) {
    if (!(rho >= 0 && rho <= 1)) throw new RangeError(`${name} must be in [0, 1], got ${rho}`);
  }
  return uniformProbability * uniformResponse + (pi - uniformProbability) * uncertaintyResponse;
}

/** How far labelers got through the queue: the uniform component's counts, the uncertainty component's by stratum. */
export interface QueueResponse {
  uniform: { labeled: number; assigned: number };
  /** Strata of the uncertainty component's assignments by uncertainty, ascending: each up to its largest uncertainty. */
  uncertaintyStrata: { maxUncertainty: number; labeled: number; assigned: number }[];
}

/**
 * ρ_uniform and ρ_uncertainty(u) from the queue's counts. u falls in the first stratum reaching it (the last when above
 * all). A component with no assignments takes the other's rate: it has none to measure.
 */
export function responseRates(response: QueueResponse, uncertainty: number): { uniform: number; uncertainty: number } {
  const rate = (c: { labeled: number; assigned: number } | undefined) => (c && c.assigned > 0 ? c.labeled / c.assigned : null);
  const strata = response.uncertaintyStrata;
  const stratum = strata.find((s) => uncertainty <= s.maxUncertainty) ?? strata[strata.length - 1];
  const uniform = rate(response.uniform);
  const other = rate(stratum);
  return { uniform: uniform ?? other ?? 1, uncertainty: other ?? uniform ?? 1 };
}

/**
 * n_eff never exceeds this many times Kish's (Σw)²/Σw²: V from the sample is often too small (see above), and V → 0
 * (every π = 1, a census) would make it infinite. 2 kept coverage at 0.95-0.97 where 1 gave 0.98-0.99 and 10 gave 0.89-0.95.
 */
const MAX_DESIGN_GAIN = 2;

function check(items: readonly LabeledOutcome[], needF: boolean): void {
  items.forEach((item, i) => {
    const pi = item.inclusionProbability;
    if (!(pi > 0 && pi <= 1)) throw new RangeError(`items.${i}.inclusionProbability must be in (0, 1], got ${pi}`);
    const c = Number(item.correct);
    if (c !== 0 && c !== 1) throw new RangeError(`items.${i}.correct must be 0 or 1, got ${item.correct}`);
    if (needF && !(item.expectedCorrect! >= 0 && item.expectedCorrect! <= 1)) {
      throw new RangeError(`items.${i}.expectedCorrect must be in [0, 1], got ${item.expectedCorrect}`);
    }
  });
}

/**
 * n_eff = Â(1 − Â)/V (the design-effect size), at least 1 and at most MAX_DESIGN_GAIN × Kish's (Σw)²/Σw²; Kish's alone
 * when Â is 0 or 1 (V = 0 says nothing then, yet the interval must still say how few labels there were).
 */
function designEffectSize(estimate: number, variance: number, kish: number): number {
  const spread = estimate * (1 - estimate);
  if (spread === 0) return kish;
  return Math.min(MAX_DESIGN_GAIN * kish, Math.max(1, variance > 0 ? spread / variance : Infinity));
}

const clip01 = (x: number) => Math.min(1, Math.max(0, x));

/** The labeled mean and its Wilson interval; null without labels. */
export function naiveLabelAccuracy(items: readonly LabeledOutcome[], z = Z95): LabelEstimate | null {
  check(items, false);
  if (!items.length) return null;
  const correct = items.reduce((s, item) => s + Number(item.correct), 0);
  return { estimate: correct / items.length, interval: wilsonInterval(correct, items.length, z), labels: items.length };
}

/**
 * Hájek IPW accuracy with a Wilson interval on n_eff (formulas above); null without labels. All correct (or all wrong)
 * gives V = 0: n_eff is then Kish's (Σw)²/Σw², so the interval still says how few labels there were.
 */
export function hajekAccuracy(items: readonly LabeledOutcome[], z = Z95): HajekEstimate | null {
  check(items, false);
  if (!items.length) return null;
  let sumW = 0;
  let sumW2 = 0;
  let sumWc = 0;
  for (const item of items) {
    const w = 1 / item.inclusionProbability;
    sumW += w;
    sumW2 += w * w;
    sumWc += w * Number(item.correct);
  }
  const estimate = sumWc / sumW;
  let residual = 0;
  for (const item of items) {
    const pi = item.inclusionProbability;
    residual += ((1 - pi) * (Number(item.correct) - estimate) ** 2) / (pi * pi);
  }
  const variance = residual / (sumW * sumW);
  const effectiveSize = designEffectSize(estimate, variance, (sumW * sumW) / sumW2);
  return { estimate, interval: wilsonInterval(estimate * effectiveSize, effectiveSize, z), labels: items.length, variance, effectiveSize };
}

/**
 * PPI accuracy with an IPW rectifier and PPI++'s λ (formulas above); null with fewer than 2 labels (no variance).
 * `population`: the N events the policy decided on and Σ f over them. The estimate is clipped to [0, 1].
 */
export function ppiAccuracy(items: readonly LabeledOutcome[], population: LabelPopulation, z = Z95): PpiEstimate | null {
  check(items, true);
  const N = population.events;
  if (!(Number.isInteger(N) && N >= items.length)) throw new RangeError(`population.events must be an integer >= the ${items.length} labels, got ${N}`);
  if (!(population.expectedCorrect >= 0 && population.expectedCorrect <= N)) {
    throw new RangeError(`population.expectedCorrect must be in [0, ${N}], got ${population.expectedCorrect}`);
  }
  const n = items.length;
  if (n < 2) return null;
  // Weighted means (weights 1/π) of c and f over the labels, then λ = the weighted Cov(c, f)/Var(f) with weights
  // a_i = (1 − π_i)/π_i², the slope that minimizes the estimated variance below.
  let sumW = 0;
  let meanC = 0;
  let meanF = 0;
  for (const item of items) {
    const pi = item.inclusionProbability;
    const w = 1 / pi;
    sumW += w;
    meanC += w * Number(item.correct);
    meanF += w * item.expectedCorrect!;
  }
  meanC /= sumW;
  meanF /= sumW;
  let cov = 0;
  let varF = 0;
  for (const item of items) {
    const pi = item.inclusionProbability;
    const a = (1 - pi) / (pi * pi);
    cov += a * (Number(item.correct) - meanC) * (item.expectedCorrect! - meanF);
    varF += a * (item.expectedCorrect! - meanF) ** 2;
  }
  // Every π = 1 (a census) or constant f: the variance does not depend on λ; λ = 1 uses f as far as it goes.
  const lambda = varF > 0 ? clip01(cov / varF) : 1;
  const rectifier = meanC - lambda * meanF; // Hájek mean of the residual c − λf
  let squares = 0;
  let sumW2 = 0;
  for (const item of items) {
    const pi = item.inclusionProbability;
    const r = Number(item.correct) - lambda * item.expectedCorrect! - rectifier;
    squares += ((1 - pi) * r * r) / (pi * pi);
    sumW2 += 1 / (pi * pi);
  }
  const estimate = clip01((lambda * population.expectedCorrect) / N + rectifier);
  const variance = ((squares / (sumW * sumW)) * n) / (n - 1);
  const effectiveSize = designEffectSize(estimate, variance, (sumW * sumW) / sumW2);
  const interval = wilsonInterval(estimate * effectiveSize, effectiveSize, z);
  return { estimate, interval, labels: n, variance, lambda, effectiveSize };
}
