import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../seeded-random';
import type { ProfileArrays } from './profile';
import { PROFILE_ARRAY_FIELDS, packProfileArrays, unpackProfileArrays } from './profile-arrays';

/** Arrays of assorted lengths (one empty) with random values, typed as the fields require. */
function randomArrays(seed: number): ProfileArrays {
  const random = mulberry32(seed);
  const out: Record<string, Float32Array | Float64Array> = {};
  PROFILE_ARRAY_FIELDS.forEach(([name, type], i) => {
    const length = i === 3 ? 0 : 1 + Math.floor(random() * 50);
    const values = Array.from({ length }, () => (random() - 0.5) * 10 ** Math.floor(random() * 8 - 4));
    out[name] = type === 'f32' ? Float32Array.from(values) : Float64Array.from(values);
  });
  return out as unknown as ProfileArrays;
}

describe('profile arrays blob', () => {
  it('round-trips every field exactly, with its type', () => {
    const arrays = randomArrays(1);
    const back = unpackProfileArrays(packProfileArrays(arrays));
    for (const [name, type] of PROFILE_ARRAY_FIELDS) {
      expect(back[name]).toBeInstanceOf(type === 'f32' ? Float32Array : Float64Array);
      expect(Array.from(back[name])).toEqual(Array.from(arrays[name]));
    }
  });

  it('gives the same bytes for the same arrays, and reads from an unaligned copy', () => {
    const bytes = packProfileArrays(randomArrays(2));
    expect(packProfileArrays(randomArrays(2))).toEqual(bytes);
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    expect(unpackProfileArrays(shifted.subarray(1))).toEqual(unpackProfileArrays(bytes));
  });

  it('refuses short, truncated, altered and foreign blobs with a clear error', () => {
    const bytes = packProfileArrays(randomArrays(3));
    expect(() => unpackProfileArrays(bytes.subarray(0, 10))).toThrow(/too short/);
    expect(() => unpackProfileArrays(bytes.subarray(0, bytes.length - 9))).toThrow(/checksum/);
    const altered = bytes.slice();
    altered[100] = altered[100]! ^ 0xff;
    expect(() => unpackProfileArrays(altered)).toThrow(/checksum/);
    const foreign = bytes.slice();
    foreign[0] = 0x58;
    expect(() => unpackProfileArrays(foreign)).toThrow(/ELPA/);
  });

  it('refuses to pack a field of the wrong type, naming it', () => {
    const arrays = { ...randomArrays(4), thresholds: new Float32Array(3) } as unknown as ProfileArrays;
    expect(() => packProfileArrays(arrays)).toThrow(/arrays.thresholds must be a Float64Array/);
  });
});
