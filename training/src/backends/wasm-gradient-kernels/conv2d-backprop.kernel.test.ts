import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectSameGradients, useBackend } from '../../test-support/backend-comparison';

beforeAll(() => useBackend('wasm'));

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
