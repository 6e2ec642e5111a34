import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Backend, expectSameGradients, useBackend } from '../../test-support/backend-comparison';

beforeAll(() => useBackend('wasm'));

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
