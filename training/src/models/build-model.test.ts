import { MOBILENET_ALPHAS, type ModelConfigInput } from '@edgeloop/shared';
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { type Backend, NODE_BACKENDS, useBackend } from '../test-support/backend-comparison';
import { buildModel, logitsModel } from './build-model';
import { trainingLogits } from './training-logits';
import { validateModelConfig } from './model-config';

/**
 * Every architecture buildModel makes: the reference CNN at its defaults, and MobileNet with all 13 blocks (every
 * layer kind and stride it has) at its smallest input, at each width multiplier; and each architecture with dropout,
 * whose training pass takes the seeded-dropout path (no dropout takes the plain one).
 */
const CONFIGS: Array<{ name: string; config: ModelConfigInput }> = [
  { name: 'reference CNN', config: { architecture: 'reference-cnn', numClasses: 10 } },
  ...MOBILENET_ALPHAS.map((alpha) => ({
    name: `MobileNet alpha=${alpha}`,
    config: { architecture: 'mobilenet', numClasses: 5, alpha, inputShape: [32, 32, 3] } satisfies ModelConfigInput,
  })),
  { name: 'reference CNN with dropout', config: { architecture: 'reference-cnn', numClasses: 10, dropout: 0.4 } },
  { name: `MobileNet alpha=${MOBILENET_ALPHAS[0]} with dropout`, config: { architecture: 'mobilenet', numClasses: 5, alpha: MOBILENET_ALPHAS[0], inputShape: [32, 32, 3], dropout: 0.2 } },
];

/**
 * The cpu backend's conv gradients take 3-18 s a step for the wider MobileNets; a width only changes filter counts,
 * not which layers and kernels run, so cpu checks the narrowest and wasm (what training uses) checks every width.
 */
const CONFIGS_ON: Record<Backend, typeof CONFIGS> = {
  cpu: CONFIGS.filter(({ config }) => config.architecture === 'reference-cnn' || config.alpha === MOBILENET_ALPHAS[0]),
  wasm: CONFIGS,
};

/** Build, predict, one Adam step on the training pass's logits (as training does), dispose: nothing may stay behind. */
async function buildPredictTrainDispose(input: ModelConfigInput): Promise<void> {
  const config = validateModelConfig(input);
  const model = buildModel(config, 7);
  const logits = logitsModel(model); // shares model's layers and weights
  const x = tf.randomUniform([2, ...config.inputShape]); // [2, h, w, c]
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1], 'int32'), config.numClasses).toFloat()); // [2, classes]

  const probabilities = model.predict(x) as tf.Tensor; // [2, classes]
  expect(probabilities.shape).toEqual([2, config.numClasses]);
  probabilities.dispose();

  const optimizer = tf.train.adam(1e-3);
  const stepSeed = 11;
  const cost = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, trainingLogits(logits, x as tf.Tensor4D, config.dropout, stepSeed)) as tf.Scalar, true);
  expect(Number.isFinite((await cost!.data())[0])).toBe(true);
  cost!.dispose();

  optimizer.dispose();
  // The logits model shares the model's layers, and tfjs counts a layer's uses by its applications, not by models:
  // disposing `model` frees every weight; disposing `logits` as well would throw (its layers are already disposed).
  model.dispose();
  tf.dispose([x, y]);
}

describe('buildModel does not leak tensors', () => {
  describe.each(NODE_BACKENDS)('on %s', (backend) => {
    it.each(CONFIGS_ON[backend])('$name: build, predict, train a step, dispose', async ({ config }) => {
      await useBackend(backend);
      const tensors = tf.memory().numTensors;
      // wasm also counts buffers that never became tensors (kernel temporaries of the gradient kernels).
      const dataIds = backend === 'wasm' ? (tf.backend() as BackendWasm).numDataIds() : 0;
      await buildPredictTrainDispose(config);
      expect(tf.memory().numTensors).toBe(tensors);
      if (backend === 'wasm') expect((tf.backend() as BackendWasm).numDataIds()).toBe(dataIds);
    });
  });
});
