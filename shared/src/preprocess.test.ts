import { describe, expect, it } from 'vitest';
import { inputShapeOf, pixelsToModelInput } from './preprocess';
import type { Preprocessing } from './preprocessing-schema';

const grey: Preprocessing = { height: 1, width: 2, color: 'grayscale', scale: 1, offset: 0 };

describe('pixelsToModelInput (the one preprocessing, in Node and in the browser)', () => {
  it('scales grey pixels to [0, 1]', () => {
    expect(Array.from(pixelsToModelInput(new Uint8Array([0, 255]), 1, grey))).toEqual([0, 1]);
  });

  it('turns canvas RGBA into grey with the BT.601 luma weights, ignoring alpha', () => {
    const rgba = new Uint8ClampedArray([255, 0, 0, 255, 0, 0, 255, 0]); // red, then transparent blue
    const out = pixelsToModelInput(rgba, 4, grey);
    expect(out[0]).toBeCloseTo(0.299, 6);
    expect(out[1]).toBeCloseTo(0.114, 6);
  });

  it('keeps RGB interleaved and applies scale and offset', () => {
    const p: Preprocessing = { height: 1, width: 1, color: 'rgb', scale: 2, offset: -1 };
    expect(Array.from(pixelsToModelInput(new Uint8Array([0, 255, 51, 7]), 4, p))).toEqual([-1, 1, expect.closeTo(-0.6, 6)]);
    expect(inputShapeOf(p)).toEqual([1, 1, 3]);
  });

  it('refuses pixels of the wrong size, naming the expected shape', () => {
    expect(() => pixelsToModelInput(new Uint8Array(3), 1, grey)).toThrow('expected 2 (1x2x1)');
  });
});
