import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomTensor, useBackend } from '../../test-support/backend-comparison';

beforeAll(() => useBackend('wasm'));

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
