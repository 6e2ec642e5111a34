import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { buildModel } from '../models/build-model';
import { validateModelConfig } from '../models/model-config';
import { captureArtifacts, encodeArtifacts, loadArtifacts, splitIntoShards, toFloat16 } from './model-artifacts';

describe('weight encodings', () => {
  it('writes IEEE half floats', () => {
    expect(Array.from(toFloat16(new Float32Array([0, 1, -2, 0.5, 65504, 1e6, 6e-8, Number.NaN])))).toEqual([
      0x0000, 0x3c00, 0xc000, 0x3800, 0x7bff, 0x7c00, 0x0001, 0x7e00,
    ]);
  });

  it('halves and quarters the bytes, and tfjs loads each encoding back close to float32', async () => {
    const model = buildModel(validateModelConfig({ architecture: 'reference-cnn', numClasses: 10 }), 5);
    const float32 = await captureArtifacts(model);
    expect(float32.weightData.length).toBe(225_034 * 4);
    const x = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 9);
    const reference = (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
    for (const [format, ratio, tolerance] of [['float16', 0.5, 1e-3], ['uint8', 0.25, 3e-2]] as const) {
      const encoded = encodeArtifacts(float32, format);
      expect(encoded.weightData.length).toBe(float32.weightData.length * ratio);
      const loaded = await loadArtifacts(encoded);
      const probabilities = (loaded.predict(x) as tf.Tensor).dataSync() as Float32Array;
      const maxDiff = probabilities.reduce((m, p, i) => Math.max(m, Math.abs(p - reference[i]!)), 0);
      expect(maxDiff, format).toBeLessThan(tolerance);
      loaded.dispose();
    }
    x.dispose();
    model.dispose();
  });

  it('splits weights into shards of at most the given size, in order', () => {
    const data = Uint8Array.from({ length: 10 }, (_, i) => i);
    const shards = splitIntoShards(data, 4);
    expect(shards.map((s) => Array.from(s))).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  });
});
