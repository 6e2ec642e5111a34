import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, it } from 'vitest';
import { expectSameGradients, useBackend } from '../../test-support/backend-comparison';

beforeAll(() => useBackend('wasm'));

describe('depthwiseConv2d gradients match cpu (both depthwise backprop kernels)', () => {
  const cases: Array<{ m: number; pad: 'same' | 'valid'; stride: number }> = [];
  for (const m of [1, 2]) for (const pad of ['same', 'valid'] as const) for (const stride of [1, 2]) cases.push({ m, pad, stride });
  it.each(cases)('multiplier=$m pad=$pad stride=$stride', async ({ m, pad, stride }) => {
    await expectSameGradients([[2, 7, 7, 3], [3, 3, 3, m]], (x, w) =>
      tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad),
    );
  });
});
