import { mulberry32 } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import { classCounts, pairedSetResult, priorWeights, setMetrics } from './paired-metrics';

/** n items over 3 classes (class 2 rarer), and predictions right with a per-class probability. */
function draw(seed: number, n: number, hitRate: number[]) {
  const random = mulberry32(seed);
  const truth = Array.from({ length: n }, () => (random() < 0.5 ? 0 : random() < 0.7 ? 1 : 2));
  const predict = (t: number) => (random() < hitRate[t]! ? t : (t + 1 + Math.floor(random() * 2)) % 3);
  return { truth, champion: truth.map(predict), challenger: truth.map(predict) };
}

describe('paired metrics', () => {
  it('counts the pairs only one model got right, and recall per class (null with no items)', () => {
    const result = pairedSetResult('holdout', { truth: [0, 0, 1, 1, 1], champion: [0, 1, 1, 0, 1], challenger: [0, 0, 0, 1, 1], classes: 3 });
    expect(result).toMatchObject({ items: 5, championOnly: 1, challengerOnly: 2 });
    // Class 0: item 1 only the challenger; class 1: item 3 only the challenger, item 2 only the champion.
    expect(result.perClassPaired).toEqual([
      { championOnly: 0, challengerOnly: 1 },
      { championOnly: 1, challengerOnly: 1 },
      { championOnly: 0, challengerOnly: 0 },
    ]);
    expect(result.champion).toEqual({ accuracy: 3 / 5, perClassRecall: [1 / 2, 2 / 3, null], confusion: [[1, 1, 0], [1, 2, 0], [0, 0, 0]] });
    expect(result.challenger.accuracy).toBe(4 / 5);
  });

  it('reweighted to class priors, accuracy is the priors-weighted mean of the per-class recalls', () => {
    const { truth, champion, challenger } = draw(7, 3000, [0.9, 0.6, 0.3]);
    const priors = [0.1, 0.3, 0.6];
    const weights = priorWeights(priors, classCounts(truth, 3));
    const result = pairedSetResult('reweighted-test', { truth, champion, challenger, classes: 3 }, weights);
    for (const model of [result.champion, result.challenger]) {
      const expected = priors.reduce((sum, prior, c) => sum + prior * model.perClassRecall[c]!, 0);
      expect(model.accuracy).toBeCloseTo(expected, 12);
      // The weighted confusion counts stand for the same number of items, in the priors' proportions.
      const rows = model.confusion.map((row) => row.reduce((a, b) => a + b, 0));
      rows.forEach((total, c) => expect(total / truth.length).toBeCloseTo(priors[c]!, 12));
    }
    // Recall within a class does not change with its weight; the unweighted set has the same recalls.
    const plain = setMetrics(truth, champion, 3);
    expect(result.champion.perClassRecall).toEqual(plain.perClassRecall);
    expect(plain.accuracy).not.toBeCloseTo(result.champion.accuracy, 2);
  });

  it('gives a class with no test items weight 0, and refuses mismatched lengths and classes out of range', () => {
    expect(priorWeights([0.5, 0.25, 0.25], [10, 0, 30])).toEqual([2, 0, 1 / 3]);
    expect(() => pairedSetResult('base-test', { truth: [0, 1], champion: [0], challenger: [0, 1], classes: 2 })).toThrow(/predictions for 1 and 2 items, but 2 items/);
    expect(() => setMetrics([0, 2], [0, 1], 2)).toThrow(/item 1: class 2 or prediction 1 is outside 0..1/);
  });
});
