import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Backend, maxRelDiff, randomTensor, useBackend } from '../../test-support/backend-comparison';

beforeAll(() => useBackend('wasm'));

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
