/**
 * For tests of the monitoring statistics: classes that are 2-D unit-variance Gaussians around `means`, with the exact
 * Bayes posteriors as the model's probabilities, so calibration, priors and accuracy are known.
 */
import { mulberry32 } from '../seeded-random';

/** A standard normal draw (Box-Muller). */
function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** A class index drawn from `priors`. */
function draw(random: () => number, priors: readonly number[]): number {
  let u = random();
  let c = 0;
  while (c < priors.length - 1 && u >= priors[c]!) u -= priors[c++]!;
  return c;
}

/**
 * n rows with labels drawn from `priors`; probabilities [n, k] = p_source(y | x), the Bayes posteriors under
 * `sourcePriors` (uniform by default), so they are calibrated where the labels follow the source priors.
 * accuracy: the share of rows whose most probable class is the label.
 */
export function gaussianSample(means: readonly (readonly [number, number])[], seed: number, n: number, priors: readonly number[], sourcePriors?: readonly number[]) {
  const k = means.length;
  const source = sourcePriors ?? new Array<number>(k).fill(1 / k);
  const random = mulberry32(seed);
  const probabilities = new Float64Array(n * k);
  const labels = new Int32Array(n);
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const y = draw(random, priors);
    const x = [means[y]![0] + normal(random), means[y]![1] + normal(random)];
    const logits = means.map((m, c) => -((x[0]! - m[0]) ** 2 + (x[1]! - m[1]) ** 2) / 2 + Math.log(source[c]!));
    const max = Math.max(...logits);
    const total = logits.reduce((s, z) => s + Math.exp(z - max), 0);
    let best = 0;
    for (let c = 0; c < k; c++) {
      probabilities[i * k + c] = Math.exp(logits[c]! - max) / total;
      if (probabilities[i * k + c]! > probabilities[i * k + best]!) best = c;
    }
    labels[i] = y;
    if (best === y) correct++;
  }
  return { probabilities, labels, accuracy: correct / n };
}
