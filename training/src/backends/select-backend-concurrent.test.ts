/**
 * Regression: two selections at once in a fresh process (a hub's reference-profile job and an in-process replay
 * client) crashed inference with "Backend 'cpu' has not yet been initialized", or left the engine on cpu. Its own file:
 * the engine must not have chosen a backend before.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { selectBackend } from './select-backend';

describe('backend selection, several callers at once', () => {
  it('gives every caller the same initialised backend, and models run on it meanwhile', async () => {
    const model = (): tf.Sequential =>
      tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 4, kernelSize: 3 }), tf.layers.flatten(), tf.layers.dense({ units: 10, activation: 'softmax' })] });
    // Each caller selects after its own delay, then classifies while the others are still selecting.
    const caller = async (delayMs: number) => {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      const selected = await selectBackend('auto');
      const m = model();
      for (let i = 0; i < 20; i++) {
        const y = tf.tidy(() => (m.predict(tf.randomNormal([8, 28, 28, 1])) as tf.Tensor).slice([0, 0], [4, 10])); // [4, 10]
        expect((await y.data()).length).toBe(40);
        y.dispose();
      }
      m.dispose();
      return selected.name;
    };
    const names = await Promise.all([caller(0), caller(2), caller(10), caller(30)]);
    expect(new Set(names).size).toBe(1);
    expect(names[0]).not.toBe('cpu');
    expect(tf.getBackend()).toBe(names[0]);
  });
});
