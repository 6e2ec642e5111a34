import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Backend, maxRelDiff, randomTensor, useBackend } from '../../test-support/backend-comparison';
import { registerWasmGradientKernels } from './index';

// Each kernel family's gradients are compared with cpu beside its file (*.kernel.test.ts); here: registration, and
// whole training steps.

beforeAll(async () => {
  registerWasmGradientKernels();
  registerWasmGradientKernels(); // idempotent
  await useBackend('wasm');
});

describe('registerWasmGradientKernels', () => {
  it('keeps wasm setupFuncs on the kernels it replaces', () => {
    for (const name of [tf.Conv2DBackpropInput, tf.MaxPoolGrad, tf.BatchMatMul, tf.Sum]) expect(tf.getKernel(name, 'wasm').setupFunc).toBeDefined();
  });

  it('registers the missing gradient kernels for wasm', () => {
    for (const name of [tf.Conv2DBackpropFilter, tf.DepthwiseConv2dNativeBackpropFilter, tf.DepthwiseConv2dNativeBackpropInput]) {
      expect(tf.getKernel(name, 'wasm')).toBeDefined();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// End to end: a few Adam steps give the same weights on wasm and cpu.

function tinyCnn(): tf.Sequential {
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape: [12, 12, 1], filters: 4, kernelSize: 3, activation: 'relu' }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', strides: 2, activation: 'relu' }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 8, activation: 'relu' }));
  m.add(tf.layers.dense({ units: 3 }));
  return m;
}

function tinySeparable(dropout = 0): tf.Sequential {
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape: [12, 12, 3], filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false }));
  m.add(tf.layers.batchNormalization());
  m.add(tf.layers.reLU({ maxValue: 6 }));
  m.add(tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', useBias: false }));
  m.add(tf.layers.batchNormalization());
  m.add(tf.layers.activation({ activation: 'relu6' }));
  m.add(tf.layers.conv2d({ filters: 12, kernelSize: 1, useBias: false }));
  m.add(tf.layers.batchNormalization());
  m.add(tf.layers.reLU({ maxValue: 6 }));
  m.add(tf.layers.globalAveragePooling2d({}));
  m.add(tf.layers.dropout({ rate: dropout }));
  m.add(tf.layers.dense({ units: 3 }));
  return m;
}

/** Trains `steps` Adam steps (softmax cross-entropy, training mode) and returns all weights, BN moving stats included. */
async function trainOn(backend: Backend, make: () => tf.Sequential, steps: number): Promise<Float32Array[]> {
  await useBackend(backend);
  const model = make();
  model.setWeights(model.weights.map((w, i) => randomTensor(w.shape as number[], 1000 + i).mul(0.5)));
  const channels = model.inputs[0]!.shape[3]!;
  const x = randomTensor([8, 12, 12, channels], 5);
  const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3);
  const optimizer = tf.train.adam(1e-3);
  for (let i = 0; i < steps; i++) {
    optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar);
  }
  const weights = model.weights.map((w) => w.read().dataSync() as Float32Array);
  tf.dispose([x, y]);
  optimizer.dispose();
  model.dispose();
  return weights;
}

describe('training on wasm', () => {
  it.each([
    ['conv + pool + dense', tinyCnn],
    ['depthwise-separable + batchnorm + relu6 + global average pooling', () => tinySeparable()],
  ] as const)('%s: Adam steps on wasm match cpu', async (_name, make) => {
    const wasm = await trainOn('wasm', make, 5);
    const cpu = await trainOn('cpu', make, 5);
    await useBackend('wasm');
    expect(wasm.length).toBe(cpu.length);
    for (let i = 0; i < cpu.length; i++) expect(maxRelDiff(wasm[i]!, cpu[i]!)).toBeLessThan(1e-4);
  });

  it('a training step does not leak tensors or wasm buffers', async () => {
    await useBackend('wasm');
    const model = tinySeparable(0.3);
    const cnn = tinyCnn();
    const x3 = tf.randomNormal([4, 12, 12, 3]);
    const x1 = tf.randomNormal([4, 12, 12, 1]);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0], 'int32'), 3);
    // One Adam per model: Adam keys its slots by position in the variable list.
    const runs = [
      { m: model, x: x3, optimizer: tf.train.adam(1e-3) },
      { m: cnn, x: x1, optimizer: tf.train.adam(1e-3) },
    ];
    const step = (): void => {
      for (const { m, x, optimizer } of runs) {
        const cost = optimizer.minimize(
          () => tf.losses.softmaxCrossEntropy(y, m.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
          true,
        );
        cost?.dispose();
      }
    };
    step(); // the first step creates Adam's slot variables
    const backend = tf.backend() as BackendWasm;
    const tensors = tf.memory().numTensors;
    const dataIds = backend.numDataIds(); // also counts buffers that never became tensors (kernel temporaries)
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(backend.numDataIds()).toBe(dataIds);
    tf.dispose([x3, x1, y]);
    for (const { optimizer } of runs) optimizer.dispose();
    model.dispose();
    cnn.dispose();
  });
});
