import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerWasmGradientKernels } from './wasm-gradient-kernels.js';

type Backend = 'cpu' | 'wasm';

beforeAll(async () => {
  registerWasmGradientKernels();
  registerWasmGradientKernels(); // idempotent
  await useBackend('wasm');
});

async function useBackend(name: Backend): Promise<void> {
  expect(await tf.setBackend(name)).toBe(true);
  await tf.ready();
}

/** Deterministic values in [-1, 1), identical for both backends. */
function randomValues(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function randomTensor(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(randomValues(shape.reduce((a, b) => a * b, 1), seed), shape);
}

/** Gradients of sum(f(inputs) * r) w.r.t. every input, r a fixed random tensor, computed on `backend`. */
async function gradsOn(
  backend: Backend,
  shapes: number[][],
  f: (...xs: tf.Tensor[]) => tf.Tensor,
): Promise<Float32Array[]> {
  await useBackend(backend);
  return tf.tidy(() => {
    const inputs = shapes.map((shape, i) => randomTensor(shape, 11 + i));
    const outShape = f(...inputs).shape;
    const r = randomTensor(outShape, 97);
    const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), r)))(inputs);
    return grads.map((g) => g.dataSync() as Float32Array);
  });
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let scale = 1;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
  return diff / scale;
}

async function expectSameGradients(shapes: number[][], f: (...xs: tf.Tensor[]) => tf.Tensor): Promise<void> {
  const wasm = await gradsOn('wasm', shapes, f);
  const cpu = await gradsOn('cpu', shapes, f);
  await useBackend('wasm');
  expect(wasm.length).toBe(cpu.length);
  for (let i = 0; i < cpu.length; i++) expect(maxRelDiff(wasm[i]!, cpu[i]!)).toBeLessThan(1e-5);
}

describe('registerWasmGradientKernels', () => {
  it('keeps wasm setupFuncs on the kernels it replaces', () => {
    for (const name of [tf.Conv2DBackpropInput, tf.MaxPoolGrad, tf.BatchMatMul, tf.Sum]) expect(tf.getKernel(name, 'wasm').setupFunc).toBeDefined();
  });

  it('registers the missing gradient kernels for wasm', () => {
    for (const name of [tf.Conv2DBackpropFilter, tf.DepthwiseConv2dNativeBackpropFilter, tf.DepthwiseConv2dNativeBackpropInput]) {
      expect(tf.getKernel(name, 'wasm')).toBeDefined();
    }
  });

  describe('conv2d gradients match cpu (Conv2DBackpropFilter + Conv2DBackpropInput)', () => {
    // ci=1: patches of 9 values, the im2col + matmul filter gradient; ci=3 (27): the conv formulation.
    const cases: Array<{ ci: number; pad: 'same' | 'valid'; stride: number; size: number }> = [];
    for (const ci of [1, 3]) {
      for (const pad of ['same', 'valid'] as const) {
        // size 9 with stride 2 leaves input rows the filter never reaches: exercises the Slice path.
        for (const [stride, size] of [[1, 8], [2, 8], [2, 9]] as const) cases.push({ ci, pad, stride, size });
      }
    }
    it.each(cases)('ci=$ci pad=$pad stride=$stride size=$size', async ({ ci, pad, stride, size }) => {
      await expectSameGradients([[3, size, size, ci], [3, 3, ci, 4]], (x, w) =>
        tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad),
      );
    });

    it('im2col path: rectangular kernel and strides, explicit padding (patch 3x2x2)', async () => {
      await expectSameGradients([[2, 9, 7, 2], [3, 2, 2, 5]], (x, w) =>
        tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, [2, 1], [[0, 0], [1, 2], [0, 1], [0, 0]]),
      );
    });

    it('im2col path: 3x5 kernel, same padding on both sides (patch 15)', async () => {
      await expectSameGradients([[2, 7, 9, 1], [3, 5, 1, 6]], (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'));
    });

    it('conv path: rectangular kernel and strides, explicit padding (patch 3x2x4)', async () => {
      await expectSameGradients([[2, 9, 7, 4], [3, 2, 4, 5]], (x, w) =>
        tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, [2, 1], [[0, 0], [1, 2], [0, 1], [0, 0]]),
      );
    });

    it('numeric padding', async () => {
      await expectSameGradients([[2, 6, 6, 3], [3, 3, 3, 2]], (x, w) =>
        tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 1 as unknown as 'same'),
      );
    });

    it('rejects NCHW with a clear error', () => {
      const x = tf.zeros([1, 2, 4, 4]);
      const dy = tf.zeros([1, 2, 2, 2]);
      expect(() =>
        tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, {
          strides: 1,
          pad: 'valid',
          dataFormat: 'NCHW',
          filterShape: [3, 3, 2, 2],
        } as unknown as tf.NamedAttrMap),
      ).toThrow(/NHWC/);
      tf.dispose([x, dy]);
    });
  });

  describe('maxPool gradients match cpu (MaxPoolGrad replacement)', () => {
    it.each([
      { size: 2, stride: 2, pad: 'valid', input: 8 }, // 2x2 fast path, windows tile the input
      { size: 2, stride: 2, pad: 'valid', input: 7 }, // 2x2 fast path, last row / column in no window
      { size: 2, stride: 2, pad: 'same', input: 8 }, // 2x2 fast path ('same' needs no padding)
      { size: 2, stride: 2, pad: 'same', input: 7 }, // general loop: the last window is cut off
      { size: 3, stride: 2, pad: 'same', input: 7 }, // general loop
      { size: 3, stride: 1, pad: 'valid', input: 7 }, // general loop, overlapping windows
    ] as const)('pool $size stride $stride $pad, input $input', async ({ size, stride, pad, input }) => {
      await expectSameGradients([[2, input, input, 3]], (x) => tf.maxPool(x as tf.Tensor4D, size, stride, pad));
    });

    it('ties (relu zeros) go to the first maximum, as on cpu', async () => {
      await expectSameGradients([[2, 8, 8, 3]], (x) => tf.maxPool(tf.relu(tf.sub(x, 0.8)) as tf.Tensor4D, 2, 2, 'valid'));
      await expectSameGradients([[2, 7, 7, 3]], (x) => tf.maxPool(tf.relu(tf.sub(x, 0.8)) as tf.Tensor4D, 3, 2, 'same'));
    });

    it('-0, NaN and -Infinity pick the same tap as on cpu (2x2 fast path and general loop)', async () => {
      // One channel, 2x2 windows: [+0,-0,...] tie, a NaN first, all -Infinity, a negative window.
      const values = [0, -0, 1, 1, NaN, 2, -Infinity, -Infinity, 0, -0, -0.5, -Infinity, 3, NaN, -Infinity, -Infinity];
      const x = [1, 4, 4, 1];
      const dyValues = [1, 2, 3, 4];
      for (const [size, stride] of [[2, 2], [3, 1]] as const) {
        const dxOn = async (backend: Backend): Promise<Float32Array> => {
          await useBackend(backend);
          return tf.tidy(() => {
            const input = tf.tensor4d(values, x as [number, number, number, number]);
            const output = tf.maxPool(input, size, stride, 'valid');
            const dy = tf.tensor(dyValues.slice(0, output.size), output.shape);
            return (tf.engine().runKernel(tf.MaxPoolGrad, { dy, input, output }, { filterSize: size, strides: stride, pad: 'valid' }) as tf.Tensor).dataSync() as Float32Array;
          });
        };
        const wasm = await dxOn('wasm');
        const cpu = await dxOn('cpu');
        await useBackend('wasm');
        expect(Array.from(wasm)).toEqual(Array.from(cpu));
      }
    });
  });

  describe('matMul gradients match cpu (transposed BatchMatMul replacement)', () => {
    it.each([
      { a: [5, 7], b: [7, 3], ta: false, tb: false },
      { a: [7, 5], b: [7, 3], ta: true, tb: false },
      { a: [5, 7], b: [3, 7], ta: false, tb: true },
      { a: [2, 7, 5], b: [2, 3, 7], ta: true, tb: true },
      // a x b^T with b much bigger than a: computed as (b x a^T)^T
      { a: [4, 6], b: [20, 6], ta: false, tb: true },
      { a: [2, 4, 6], b: [2, 20, 6], ta: false, tb: true },
    ])('$a x $b transposeA=$ta transposeB=$tb', async ({ a, b, ta, tb }) => {
      await expectSameGradients([a, b], (x, y) => tf.matMul(x!, y!, ta, tb));
    });
  });

  describe('sum matches cpu (Sum over leading axes replacement, and its fallbacks)', () => {
    async function sumOn(
      backend: Backend,
      shape: number[],
      axis: number | number[] | null,
      keepDims: boolean,
      dtype: 'float32' | 'int32',
    ): Promise<{ shape: number[]; values: Float32Array | Int32Array }> {
      await useBackend(backend);
      return tf.tidy(() => {
        const x = tf.cast(tf.mul(randomTensor(shape, 7), dtype === 'int32' ? 100 : 1), dtype);
        const s = tf.sum(x, axis ?? undefined, keepDims); // undefined: the op passes axis null (all axes)
        return { shape: s.shape, values: s.dataSync() as Float32Array | Int32Array };
      });
    }

    it.each([
      { shape: [16, 26, 26, 32], axis: [0, 1, 2], keepDims: false }, // a conv bias gradient, 10816 rows
      { shape: [4, 5, 6, 3], axis: [2, 0, 1], keepDims: true }, // any order; keepDims
      { shape: [4, 5, 6, 3], axis: [-4, -3], keepDims: false }, // negative axes, two leading ones
      { shape: [7, 5], axis: 0, keepDims: true }, // a dense bias gradient
      { shape: [7, 5], axis: [0], keepDims: false },
      { shape: [1, 5], axis: [0], keepDims: false }, // one row
      // not a leading prefix: wasm's own Sum
      { shape: [4, 5, 6, 3], axis: [1, 2], keepDims: true },
      { shape: [4, 5, 6, 3], axis: [0, 2], keepDims: false },
      { shape: [4, 5, 6, 3], axis: [3], keepDims: false },
      { shape: [4, 5, 6, 3], axis: null, keepDims: true }, // all axes
      { shape: [4, 5, 6, 3], axis: [0, 1, 2, 3], keepDims: false },
      { shape: [0, 3], axis: [0], keepDims: false }, // empty
    ])('shape $shape axis $axis keepDims $keepDims', async ({ shape, axis, keepDims }) => {
      const wasm = await sumOn('wasm', shape, axis, keepDims, 'float32');
      const cpu = await sumOn('cpu', shape, axis, keepDims, 'float32');
      await useBackend('wasm');
      expect(wasm.shape).toEqual(cpu.shape);
      expect(maxRelDiff(wasm.values as Float32Array, cpu.values as Float32Array)).toBeLessThan(1e-5);
    });

    it('int32 over leading axes stays exact (wasm\'s own Sum)', async () => {
      const wasm = await sumOn('wasm', [4, 5, 3], [0, 1], false, 'int32');
      const cpu = await sumOn('cpu', [4, 5, 3], [0, 1], false, 'int32');
      await useBackend('wasm');
      expect(wasm.values).toBeInstanceOf(Int32Array);
      expect(Array.from(wasm.values)).toEqual(Array.from(cpu.values));
    });
  });

  describe('Identity and same-dtype Cast share the buffer', () => {
    it('clone and float32 -> float32 cast keep values and survive disposing the source', () => {
      const x = randomTensor([3, 4], 3);
      const expected = Array.from(x.dataSync());
      const copies = [tf.clone(x), tf.cast(x, 'float32')];
      x.dispose();
      for (const c of copies) expect(Array.from(c.dataSync())).toEqual(expected);
      tf.dispose(copies);
    });

    it('casts that change the dtype still convert (wasm\'s own Cast)', () => {
      const x = tf.tensor1d([1.7, -2.5, 0]);
      const asInt = tf.cast(x, 'int32');
      expect(asInt.dtype).toBe('int32');
      expect(Array.from(asInt.dataSync())).toEqual([1, -2, 0]);
      tf.dispose([x, asInt]);
    });
  });

  describe('depthwiseConv2d gradients match cpu (both depthwise backprop kernels)', () => {
    const cases: Array<{ m: number; pad: 'same' | 'valid'; stride: number }> = [];
    for (const m of [1, 2]) for (const pad of ['same', 'valid'] as const) for (const stride of [1, 2]) cases.push({ m, pad, stride });
    it.each(cases)('multiplier=$m pad=$pad stride=$stride', async ({ m, pad, stride }) => {
      await expectSameGradients([[2, 7, 7, 3], [3, 3, 3, m]], (x, w) =>
        tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad),
      );
    });
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
