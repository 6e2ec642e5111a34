import { describe, expect, it } from 'vitest';
import { evaluatePredictions } from './metrics';

describe('evaluatePredictions', () => {
  it('computes accuracy, confusion, per-class precision/recall and ECE by hand-checked numbers', () => {
    // Rows: [p(a), p(b)]. Truth: a, a, b, b. Predictions: a (0.9), b (0.6), b (0.8), a (0.7).
    const probabilities = new Float32Array([0.9, 0.1, 0.4, 0.6, 0.2, 0.8, 0.7, 0.3]);
    const evaluation = evaluatePredictions(probabilities, [0, 0, 1, 1], ['a', 'b']);
    expect(evaluation.accuracy).toBe(0.5);
    expect(evaluation.confusion).toEqual([[1, 1], [1, 1]]);
    expect(evaluation.perClass).toEqual([
      { label: 'a', precision: 0.5, recall: 0.5, support: 2 },
      { label: 'b', precision: 0.5, recall: 0.5, support: 2 },
    ]);
    // Each prediction sits alone in its confidence bin: ECE = mean |correct - confidence|.
    const expectedEce = (Math.abs(1 - 0.9) + Math.abs(0 - 0.6) + Math.abs(1 - 0.8) + Math.abs(0 - 0.7)) / 4;
    expect(evaluation.ece).toBeCloseTo(expectedEce, 5);
    expect(evaluation.loss).toBeCloseTo(-(Math.log(0.9) + Math.log(0.4) + Math.log(0.8) + Math.log(0.3)) / 4, 5);
  });

  it('gives zero precision for a class never predicted instead of NaN', () => {
    const evaluation = evaluatePredictions(new Float32Array([1, 0, 1, 0]), [0, 1], ['a', 'b']);
    expect(evaluation.perClass[1]).toEqual({ label: 'b', precision: 0, recall: 0, support: 1 });
  });
});
