/**
 * Champion and challenger predictions on the same items, turned into one evaluation set's result: each model's
 * accuracy, per-class recall and confusion, and the paired outcomes McNemar's test reads (items only one of them got
 * right, in all and per true class). Optionally weighted per true class (the reweighted test set). Pure: no I/O, no tensors.
 */
import type { EvaluationSet, EvaluationSetResult, SetMetrics } from '@edgeloop/shared';

export interface PairedPredictions {
  /** True class of each item [n]. */
  truth: ArrayLike<number>;
  /** Each model's predicted class per item [n], in the same item order. */
  champion: ArrayLike<number>;
  challenger: ArrayLike<number>;
  classes: number;
}

/**
 * The set's result. With `classWeights` [K], every item of true class c counts w[c] in accuracy and confusion (recall
 * within a class is unchanged by it); the paired counts stay plain item counts (they are what McNemar's test counts).
 */
export function pairedSetResult(set: EvaluationSet, p: PairedPredictions, classWeights?: readonly number[]): EvaluationSetResult {
  const n = p.truth.length;
  if (p.champion.length !== n || p.challenger.length !== n) throw new Error(`predictions for ${p.champion.length} and ${p.challenger.length} items, but ${n} items`);
  const perClassPaired = Array.from({ length: p.classes }, () => ({ championOnly: 0, challengerOnly: 0 }));
  for (let i = 0; i < n; i++) {
    const championRight = p.champion[i] === p.truth[i];
    const challengerRight = p.challenger[i] === p.truth[i];
    const paired = perClassPaired[p.truth[i]!];
    if (!paired) continue; // setMetrics below names the out-of-range class
    if (championRight && !challengerRight) paired.championOnly++;
    else if (challengerRight && !championRight) paired.challengerOnly++;
  }
  return {
    set,
    items: n,
    champion: setMetrics(p.truth, p.champion, p.classes, classWeights),
    challenger: setMetrics(p.truth, p.challenger, p.classes, classWeights),
    championOnly: perClassPaired.reduce((sum, c) => sum + c.championOnly, 0),
    challengerOnly: perClassPaired.reduce((sum, c) => sum + c.challengerOnly, 0),
    perClassPaired,
  };
}

/** Accuracy, per-class recall (null for a class with no items) and confusion [true][predicted], weighted per true class. */
export function setMetrics(truth: ArrayLike<number>, predicted: ArrayLike<number>, classes: number, classWeights?: readonly number[]): SetMetrics {
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  const counts = new Array<number>(classes).fill(0);
  const hits = new Array<number>(classes).fill(0);
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i]!;
    const y = predicted[i]!;
    if (!(t >= 0 && t < classes && y >= 0 && y < classes)) throw new Error(`item ${i}: class ${t} or prediction ${y} is outside 0..${classes - 1}`);
    confusion[t]![y]! += classWeights ? classWeights[t]! : 1;
    counts[t]!++;
    if (t === y) hits[t]!++;
  }
  let total = 0;
  let correct = 0;
  confusion.forEach((row, c) => {
    total += row.reduce((a, b) => a + b, 0);
    correct += row[c]!;
  });
  // Recall within a class is the same weighted or not (its items share one weight): counted plainly.
  const perClassRecall = counts.map((count, c) => (count > 0 ? hits[c]! / count : null));
  return { accuracy: total > 0 ? Math.min(1, correct / total) : 0, perClassRecall, confusion };
}

/** Items per class [K] of a label array. */
export function classCounts(labels: ArrayLike<number>, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (let i = 0; i < labels.length; i++) counts[labels[i]!]!++;
  return counts;
}

/**
 * Importance weights that make a test split with class counts `counts` [K] stand for class priors `priors` [K]:
 * w[c] = prior[c] / testShare[c] (so the weights of all items sum to n when every class has items); 0 for a class
 * with no items (nothing to weight).
 */
export function priorWeights(priors: readonly number[], counts: readonly number[]): number[] {
  if (priors.length !== counts.length) throw new Error(`${priors.length} priors for ${counts.length} classes`);
  const n = counts.reduce((a, b) => a + b, 0);
  return counts.map((count, c) => (count > 0 ? priors[c]! / (count / n) : 0));
}
