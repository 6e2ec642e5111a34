/**
 * Distances between two discrete distributions (class mixes), given as counts or probabilities.
 * Pure, dependency-free, float64.
 */
import type { Sample } from './two-sample';

export interface DivergenceOptions {
  /**
   * Pseudo-count added to every entry of both vectors before normalizing (additive / Laplace smoothing),
   * default 0. With counts, 0.5 (Jeffreys) keeps a class seen on one side only from dominating a small window;
   * it pulls both distributions toward uniform, so distances shrink slightly. Use the same value when comparing
   * distances. With probabilities rather than counts, pass a value on the same scale (e.g. 1e-6).
   */
  smoothing?: number;
}

/**
 * Normalizes two non-negative vectors of the same length K (after adding `smoothing`) to probability vectors.
 * Throws an Error naming the argument that is empty, negative, non-finite or all zero. O(K).
 */
export function normalizePair(p: Sample, q: Sample, options: DivergenceOptions = {}): [Float64Array, Float64Array] {
  const smoothing = options.smoothing ?? 0;
  if (!(smoothing >= 0) || !Number.isFinite(smoothing)) throw new Error(`smoothing must be a finite number >= 0, got ${smoothing}`);
  if (p.length !== q.length) throw new Error(`q must have the length of p (${p.length}), got ${q.length}`);
  return [normalize(p, 'p', smoothing), normalize(q, 'q', smoothing)];
}

function normalize(values: Sample, name: string, smoothing: number): Float64Array {
  if (values.length === 0) throw new Error(`${name} must not be empty`);
  const out = new Float64Array(values.length);
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!(v >= 0) || !Number.isFinite(v)) throw new Error(`${name} must hold finite values >= 0, got ${v} at ${i}`);
    out[i] = v + smoothing;
    total += v + smoothing;
  }
  if (total === 0) throw new Error(`${name} must not be all zero`);
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) / total;
  return out;
}

/** x·log2(x/y) with 0·log 0 = 0 (scipy.special.rel_entr in bits). */
function relativeEntropyBits(x: number, y: number): number {
  return x === 0 ? 0 : x * Math.log2(x / y);
}

/**
 * Jensen–Shannon distance in base 2, √JSD with JSD = ½ KL(p‖m) + ½ KL(q‖m), m = (p+q)/2, after normalizing
 * both inputs — as scipy.spatial.distance.jensenshannon(p, q, base=2) (the square root, in [0, 1]).
 * Inputs: counts or probabilities of equal length K. O(K).
 */
export function jensenShannonDistance(p: Sample, q: Sample, options: DivergenceOptions = {}): number {
  const [pn, qn] = normalizePair(p, q, options);
  let divergence = 0;
  for (let i = 0; i < pn.length; i++) {
    const a = pn[i] as number;
    const b = qn[i] as number;
    const mid = (a + b) / 2;
    divergence += relativeEntropyBits(a, mid) + relativeEntropyBits(b, mid);
  }
  return Math.sqrt(Math.max(0, divergence / 2));
}

/**
 * Total variation distance TV = ½ Σ |p_i − q_i| after normalizing both inputs, in [0, 1]
 * (= max over events of |P(A) − Q(A)|). Inputs: counts or probabilities of equal length K. O(K).
 */
export function totalVariationDistance(p: Sample, q: Sample, options: DivergenceOptions = {}): number {
  const [pn, qn] = normalizePair(p, q, options);
  let total = 0;
  for (let i = 0; i < pn.length; i++) total += Math.abs((pn[i] as number) - (qn[i] as number));
  return total / 2;
}
