import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { buildModel } from './build-model';
import { validateModelConfig } from './model-config';
import { priorCorrectionOffsets, shiftLogitsBias } from './prior-correction';

describe('label-shift correction of a trained model', () => {
  it('offsets are log(target share / train share), absent classes bounded', () => {
    // Train labels: class 0 x6, class 1 x3, class 2 x1, class 3 never.
    const labels = Uint16Array.from([0, 0, 0, 0, 0, 0, 1, 1, 1, 2]);
    const offsets = priorCorrectionOffsets([0.25, 0.25, 0.5, 0], labels, labels.length);
    expect(offsets[0]).toBeCloseTo(Math.log(0.25 / 0.6), 6);
    expect(offsets[1]).toBeCloseTo(Math.log(0.25 / 0.3), 6);
    expect(offsets[2]).toBeCloseTo(Math.log(0.5 / 0.1), 6);
    expect(offsets[3]).toBeCloseTo(0, 6); // neither seen nor expected: 1e-4 / 1e-4
  });

  it("moves every prediction's probabilities to p(c | x) * p_c / q_c, renormalised (Bayes' rule)", async () => {
    await tf.setBackend('cpu');
    const model = buildModel(validateModelConfig({ architecture: 'reference-cnn', numClasses: 4, inputShape: [12, 12, 1], filters: [2, 2], denseUnits: 8 }), 3);
    const x = tf.randomUniform([5, 12, 12, 1], 0, 1, 'float32', 11); // [5, 12, 12, 1]
    const before = (model.predict(x) as tf.Tensor).arraySync() as number[][]; // [5, 4]
    const offsets = Float32Array.from([0.7, -0.2, 0, -1.5]);
    shiftLogitsBias(model, offsets);
    const after = (model.predict(x) as tf.Tensor).arraySync() as number[][];
    for (let i = 0; i < 5; i++) {
      const weighted = before[i]!.map((p, c) => p * Math.exp(offsets[c]!));
      const total = weighted.reduce((a, b) => a + b, 0);
      weighted.forEach((w, c) => expect(after[i]![c]).toBeCloseTo(w / total, 5));
    }
    expect(() => shiftLogitsBias(model, new Float32Array(3))).toThrow('the logits layer has 4 outputs, the priors name 3 classes');
    x.dispose();
  });
});
