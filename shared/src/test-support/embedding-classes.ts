/**
 * For tests of the monitoring engine: a K-class model whose embeddings [n, d] are isotropic Gaussians around class
 * means (sd `noise`), with the Bayes-optimal linear head (logits = e·kernel + bias) multiplied by `overconfidence`,
 * so the true temperature is known (T = overconfidence) and the probabilities are exactly calibrated after it.
 */
import { mulberry32 } from '../seeded-random';

export interface EmbeddingModel {
  k: number;
  d: number;
  noise: number;
  /** Class means [K, d] row-major. */
  means: Float64Array;
  /** Priors the head's bias assumes [K]. */
  priors: number[];
  head: { kernel: Float32Array; bias: Float32Array };
}

export function standardNormal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/**
 * Means N(0, (separation / √2)² I): two class means are about `separation`·√d / … apart; pick separation for the
 * accuracy wanted (with d = 32, noise 1, K = 6: separation 0.7 gives about 0.85).
 */
export function embeddingModel(options: { k: number; d: number; separation: number; noise?: number; overconfidence?: number; seed: number }): EmbeddingModel {
  const { k, d, separation, seed } = options;
  const noise = options.noise ?? 1;
  const scale = options.overconfidence ?? 1;
  const random = mulberry32(seed);
  const means = new Float64Array(k * d);
  for (let i = 0; i < means.length; i++) means[i] = (separation / Math.SQRT2) * standardNormal(random);
  const priors = new Array<number>(k).fill(1 / k);
  const kernel = new Float32Array(d * k);
  const bias = new Float32Array(k);
  const variance = noise * noise;
  for (let c = 0; c < k; c++) {
    let norm = 0;
    for (let j = 0; j < d; j++) {
      kernel[j * k + c] = (scale * means[c * d + j]!) / variance;
      norm += means[c * d + j]! ** 2;
    }
    bias[c] = scale * (-norm / (2 * variance) + Math.log(priors[c]!));
  }
  return { k, d, noise, means, priors, head: { kernel, bias } };
}

export interface SampleOptions {
  /** Class shares to draw labels from (default: the model's priors). */
  priors?: readonly number[];
  /** Changes each embedding in place after it is drawn (e.g. a shift). */
  transform?: (embedding: Float32Array, label: number, random: () => number) => void;
}

/** n labelled embeddings [n, d] from the model, seeded. */
export function sampleEmbeddings(model: EmbeddingModel, n: number, seed: number, options: SampleOptions = {}): { embeddings: Float32Array; labels: Int32Array } {
  const { k, d, noise, means } = model;
  const priors = options.priors ?? model.priors;
  const random = mulberry32(seed);
  const embeddings = new Float32Array(n * d);
  const labels = new Int32Array(n);
  const total = priors.reduce((s, p) => s + p, 0);
  for (let i = 0; i < n; i++) {
    let u = random() * total;
    let y = 0;
    while (y < k - 1 && u >= priors[y]!) u -= priors[y++]!;
    labels[i] = y;
    const row = embeddings.subarray(i * d, (i + 1) * d);
    for (let j = 0; j < d; j++) row[j] = means[y * d + j]! + noise * standardNormal(random);
    options.transform?.(row, y, random);
  }
  return { embeddings, labels };
}

/** Index of the largest logit of embedding row e [d] under the head: the top-1 a device would send. */
export function headTop1(model: EmbeddingModel, embedding: Float32Array): number {
  const { k, d, head } = model;
  let best = 0;
  let bestValue = -Infinity;
  for (let c = 0; c < k; c++) {
    let z = head.bias[c]!;
    for (let j = 0; j < d; j++) z += embedding[j]! * head.kernel[j * k + c]!;
    if (z > bestValue) [best, bestValue] = [c, z];
  }
  return best;
}
