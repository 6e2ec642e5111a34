import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { encodeGreyscalePng } from './png';

describe('encodeGreyscalePng', () => {
  it('round-trips pixels through a real PNG decoder', async () => {
    const pixels = Uint8Array.from({ length: 28 * 28 }, (_, i) => (i * 37) % 256);
    const png = encodeGreyscalePng(pixels, 28, 28);
    expect(await sharp(png).metadata()).toMatchObject({ format: 'png', width: 28, height: 28, channels: 1 });
    const data = await sharp(png).extractChannel(0).raw().toBuffer();
    expect(new Uint8Array(data)).toEqual(pixels);
  });

  it('refuses a pixel count that does not match the size', () => {
    expect(() => encodeGreyscalePng(new Uint8Array(10), 4, 4)).toThrow(/expected 16 pixels, got 10/);
  });
});
