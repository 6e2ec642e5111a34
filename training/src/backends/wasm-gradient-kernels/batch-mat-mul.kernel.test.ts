import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, it } from 'vitest';
import { expectSameGradients, useBackend } from '../../test-support/backend-comparison';

beforeAll(() => useBackend('wasm'));

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
