/**
 * What a ReferenceProfile's arrays turn into for computing: the PCA basis and MMD reference as the statistics
 * modules take them, the head, the thresholds. The profile builder derives its simulation from this very object, so
 * the thresholds it calibrates are for exactly the numbers a StreamMonitor computes.
 */
import { softmaxWithTemperature } from './calibration';
import { DEFAULT_SIGMA_MULTIPLIERS, type MmdReference } from './mmd';
import type { PcaBasis } from './pca';
import { profileScalar, SEQUENTIAL_DETECTORS, type ProfileArrays, type ProfileOptions, type ReferenceProfile, type SequentialDetector } from './profile';
import { fnv1a, packProfileArrays } from './profile-arrays';

export interface ProfileRuntime {
  k: number;
  /** Embedding size d and PCA rank r. */
  dimension: number;
  rank: number;
  labels: readonly string[];
  options: ProfileOptions;
  arrays: ProfileArrays;
  temperature: number;
  lowConfidenceThreshold: number;
  cusumP0: number;
  cusumP1: number;
  basis: PcaBasis;
  mmdReference: MmdReference;
  /** Squared nearest-reference distance above which an event is out of distribution. */
  oodSquaredDistance: number;
  thresholds: Record<SequentialDetector, number>;
  /** Ties a monitor state to this profile: FNV-1a of the packed arrays. */
  fingerprint: number;
}

/** The MMD reference from stored values, as prepareMmdReference would build it (same bandwidth arithmetic), without its O(m²) pass. */
export function mmdReferenceFrom(sample: Float32Array, rank: number, sigma: number, meanReferenceKernel: number): MmdReference {
  const sigmas = Float64Array.from(DEFAULT_SIGMA_MULTIPLIERS, (value) => value * sigma);
  return { rows: Float64Array.from(sample), size: sample.length / rank, dim: rank, sigmas, gammas: sigmas.map((value) => 1 / (2 * value * value)), meanReferenceKernel };
}

/** A PcaBasis over the stored (float32) mean [d] and axes [r, d]; only the fields projectRows reads are meaningful. */
export function basisFrom(mean: Float32Array, axes: Float32Array, dimension: number): PcaBasis {
  const rank = axes.length / dimension;
  return {
    dimension,
    components: rank,
    mean: Float64Array.from(mean),
    axes: Float64Array.from(axes),
    explainedVariance: new Float64Array(rank),
    explainedVarianceRatio: new Float64Array(rank),
    totalVariance: 0,
  };
}

export function profileRuntime(profile: ReferenceProfile): ProfileRuntime {
  const { summary, arrays } = profile;
  const k = summary.labels.length;
  const dimension = summary.embeddingSize;
  const rank = summary.pca.rank;
  const expect = (name: keyof ProfileArrays, length: number): void => {
    if (arrays[name].length !== length) throw new Error(`profile arrays.${name} has ${arrays[name].length} values, expected ${length}`);
  };
  expect('headKernel', dimension * k);
  expect('headBias', k);
  expect('pcaMean', dimension);
  expect('pcaAxes', rank * dimension);
  expect('referenceSample', summary.mmd.referenceSize * rank);
  expect('predictedMix', k);
  expect('labelPrior', k);
  expect('jointConfusion', k * k);
  expect('thresholds', SEQUENTIAL_DETECTORS.length);
  const oodDistance = profileScalar(arrays, 'oodDistance');
  return {
    k,
    dimension,
    rank,
    labels: summary.labels,
    options: summary.options,
    arrays,
    temperature: profileScalar(arrays, 'temperature'),
    lowConfidenceThreshold: profileScalar(arrays, 'lowConfidenceThreshold'),
    cusumP0: profileScalar(arrays, 'cusumP0'),
    cusumP1: profileScalar(arrays, 'cusumP1'),
    basis: basisFrom(arrays.pcaMean, arrays.pcaAxes, dimension),
    mmdReference: mmdReferenceFrom(arrays.referenceSample, rank, profileScalar(arrays, 'mmdSigma'), profileScalar(arrays, 'meanReferenceKernel')),
    oodSquaredDistance: oodDistance * oodDistance,
    thresholds: { classMix: arrays.thresholds[0]!, confidence: arrays.thresholds[1]!, embedding: arrays.thresholds[2]! },
    fingerprint: fnv1a(packProfileArrays(arrays)),
  };
}

/**
 * Logits of row i of embeddings [n, d]: z_c = Σ_j e_ij · kernel[j, c] + bias_c, kernel [d, K] row-major; written to
 * out[offset .. offset + K). O(dK).
 */
export function headLogits(embeddings: Float32Array, i: number, d: number, kernel: Float32Array, bias: Float32Array, k: number, out: Float64Array, offset = 0): void {
  for (let c = 0; c < k; c++) out[offset + c] = bias[c]!;
  for (let j = 0; j < d; j++) {
    const e = embeddings[i * d + j]!;
    if (e === 0) continue;
    for (let c = 0; c < k; c++) out[offset + c] = out[offset + c]! + e * kernel[j * k + c]!;
  }
}

/** Logits [n, K] of embeddings [n, d]. O(ndK). */
export function logitRows(embeddings: Float32Array, n: number, d: number, kernel: Float32Array, bias: Float32Array, k: number): Float64Array {
  const out = new Float64Array(n * k);
  for (let i = 0; i < n; i++) headLogits(embeddings, i, d, kernel, bias, k, out, i * k);
  return out;
}

/** Calibrated probabilities [K] of one embedding [d]. O(dK). */
export function calibratedProbabilities(runtime: ProfileRuntime, embedding: Float32Array): Float64Array {
  const logits = new Float64Array(runtime.k);
  headLogits(embedding, 0, runtime.dimension, runtime.arrays.headKernel, runtime.arrays.headBias, runtime.k, logits);
  return softmaxWithTemperature(logits, runtime.k, runtime.temperature);
}

/** Squared distance from x [r] to its nearest reference row. O(m·r). */
export function nearestReferenceSquaredDistance(reference: MmdReference, x: ArrayLike<number>, offset = 0): number {
  const { rows, size, dim } = reference;
  let best = Infinity;
  for (let i = 0; i < size; i++) {
    let sum = 0;
    for (let j = 0; j < dim && sum < best; j++) {
      const diff = rows[i * dim + j]! - x[offset + j]!;
      sum += diff * diff;
    }
    if (sum < best) best = sum;
  }
  return best;
}
