import { greyOf } from '@edgeloop/shared';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { encodeGreyscalePng } from './png';
import { decodeToPixels } from './to-pixels';

const SIZE_2X2 = { height: 2, width: 2 };

describe('decodeToPixels', () => {
  it('keeps a grey picture grey, value for value', async () => {
    const values = new Uint8Array([0, 77, 178, 255]);
    expect(await decodeToPixels(encodeGreyscalePng(values, 2, 2), { ...SIZE_2X2, channels: 1 })).toEqual(values);
  });

  it('makes grey from colour with the shared weights (libvips alone gave pure red 127, the device 76)', async () => {
    const rgb = Buffer.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 200, 100, 50]);
    const png = await sharp(rgb, { raw: { width: 2, height: 2, channels: 3 } }).png().toBuffer();
    const expected = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [200, 100, 50]].map(([r, g, b]) => Math.round(greyOf(r!, g!, b!)));
    expect([...(await decodeToPixels(png, { ...SIZE_2X2, channels: 1 }))]).toEqual(expected);
    expect([...(await decodeToPixels(png, { ...SIZE_2X2, channels: 3 }))]).toEqual([...rgb]);
  });
});
