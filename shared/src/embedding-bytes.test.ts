import { describe, expect, it } from 'vitest';
import { embeddingFromBytes, embeddingToBytes } from './embedding-bytes';

describe('embedding bytes', () => {
  it('round-trips float32 values, also from an unaligned buffer', () => {
    const values = [1.5, -2, 0.1, 3.4028234663852886e38];
    const bytes = embeddingToBytes(values);
    expect(bytes.length).toBe(16);
    expect([...embeddingFromBytes(bytes)]).toEqual(values.map(Math.fround));
    const unaligned = new Uint8Array(17).subarray(1);
    unaligned.set(bytes);
    expect([...embeddingFromBytes(unaligned)]).toEqual(values.map(Math.fround));
  });

  it('writes little-endian bytes (what the migration from real[] wrote)', () => {
    expect([...embeddingToBytes([1.5])]).toEqual([0x00, 0x00, 0xc0, 0x3f]);
  });

  it('refuses a length that is not a whole number of floats', () => {
    expect(() => embeddingFromBytes(new Uint8Array(5))).toThrow(/multiple of 4, got 5/);
  });
});
