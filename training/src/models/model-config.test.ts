import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { validateTrainConfig } from '../train/train-config';
import { EMBEDDING_LAYER, buildModel } from './build-model';
import { validateModelConfig } from './model-config';

describe('model configs', () => {
  it('fills defaults', () => {
    expect(validateModelConfig({ architecture: 'reference-cnn', numClasses: 10 })).toEqual({
      architecture: 'reference-cnn',
      inputShape: [28, 28, 1],
      numClasses: 10,
      filters: [32, 64],
      denseUnits: 128,
      dropout: 0,
    });
    expect(validateTrainConfig(undefined)).toMatchObject({ epochs: 15, batchSize: 128, learningRate: 0.002, learningRateSchedule: 'cosine', augmentation: 'none', seed: 42, backend: 'auto', maxQuantizationDrop: 0.5 });
  });

  it('names the bad field and lists the valid values', () => {
    expect(() => validateModelConfig({ architecture: 'vgg', numClasses: 10 })).toThrow('architecture must be one of: reference-cnn, mobilenet');
    expect(() => validateModelConfig({ architecture: 'mobilenet', numClasses: 10, alpha: 0.3 })).toThrow('alpha: alpha must be one of: 0.25, 0.5, 0.75, 1');
    expect(() => validateTrainConfig({ backend: 'tpu' })).toThrow('backend: backend must be one of: auto, tensorflow, webgpu, wasm, cpu');
    expect(() => validateTrainConfig({ epochs: 0 })).toThrow('epochs: epochs must be at least 1');
  });

  it('builds the reference CNN with 225,034 parameters and an embedding layer', () => {
    const model = buildModel(validateModelConfig({ architecture: 'reference-cnn', numClasses: 10 }), 1);
    expect(model.countParams()).toBe(225_034);
    expect(model.getLayer(EMBEDDING_LAYER).outputShape).toEqual([null, 128]);
    expect(model.outputs[0]!.shape).toEqual([null, 10]);
    model.dispose();
  });

  it('builds a MobileNet with a width multiplier; the same seed gives the same weights', () => {
    const config = validateModelConfig({ architecture: 'mobilenet', numClasses: 5, alpha: 0.25, blocks: 4, inputShape: [32, 32, 3] });
    const [a, b] = [buildModel(config, 3), buildModel(config, 3)];
    expect(a.getLayer(EMBEDDING_LAYER).outputShape).toEqual([null, 64]); // 4th block: 256 filters x 0.25
    const weights = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));
    expect(weights(a)).toEqual(weights(b));
    const probabilities = tf.tidy(() => (a.predict(tf.zeros([2, 32, 32, 3])) as tf.Tensor).sum(1).dataSync());
    expect(Array.from(probabilities)).toEqual([expect.closeTo(1, 5), expect.closeTo(1, 5)]);
    a.dispose();
    b.dispose();
  });
});
