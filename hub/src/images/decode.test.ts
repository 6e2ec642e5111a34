/** Verifying an image decodes every pixel, without holding them: memory stays small however large the image. */
import { MAX_IMAGE_PIXELS_CAP } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import { solidPng } from '../../test/image-bomb';
import { DECODE_SLOTS, decodeImage, decodesInProgress } from './decode';

const MB = 1024 * 1024;

describe('decodeImage', () => {
  it('verifies 8000 x 8000 images without holding their decoded pixels, a few at a time', { timeout: 120_000 }, async () => {
    // 64 MB of pixels each: a full-size decode held them all (256 MB for these four) only to check the image.
    const png = await solidPng(8000, 8000);
    const truncated = png.subarray(0, Math.floor(png.length / 2));
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    let mostAtOnce = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
      mostAtOnce = Math.max(mostAtOnce, decodesInProgress());
    }, 5);
    try {
      const decoded = await Promise.all(Array.from({ length: 4 }, () => decodeImage(png, 'big.png', MAX_IMAGE_PIXELS_CAP)));
      for (const info of decoded) expect(info).toEqual({ contentType: 'image/png', width: 8000, height: 8000 });
      // Every pixel is still read: a body cut in half is refused although its header is whole.
      await expect(decodeImage(truncated, 'cut.png', MAX_IMAGE_PIXELS_CAP)).rejects.toThrow(/^cut\.png is not a decodable PNG, JPEG or WebP image/);
    } finally {
      clearInterval(sampler);
    }
    expect((peak - baseline) / MB, `RSS grew from ${Math.round(baseline / MB)} MB to ${Math.round(peak / MB)} MB`).toBeLessThan(100);
    expect(mostAtOnce).toBeLessThanOrEqual(DECODE_SLOTS);
  });

  it(`runs at most ${DECODE_SLOTS} decodes at once and queues the rest`, async () => {
    const png = await solidPng(1000, 1000);
    let mostAtOnce = 0;
    const sampler = setInterval(() => (mostAtOnce = Math.max(mostAtOnce, decodesInProgress())), 1);
    try {
      await Promise.all(Array.from({ length: DECODE_SLOTS * 4 }, () => decodeImage(png, 'a.png', MAX_IMAGE_PIXELS_CAP)));
    } finally {
      clearInterval(sampler);
    }
    expect(mostAtOnce).toBeGreaterThan(0);
    expect(mostAtOnce).toBeLessThanOrEqual(DECODE_SLOTS);
    expect(decodesInProgress()).toBe(0);
  });
});
