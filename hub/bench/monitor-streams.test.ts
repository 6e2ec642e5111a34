import { mulberry32 } from '@edgeloop/shared';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  FASHION_SIDE,
  type FashionTestSplit,
  GLYPHS,
  GLYPH_SCALE,
  SHIFT_PARAMETERS,
  STREAM_KINDS,
  addGaussianNoise,
  invert,
  loadFashionTestSplit,
  monitorStream,
  renderGlyph,
  rotate,
  scaleContrast,
} from './monitor-streams';

const W = FASHION_SIDE;
const mean = (values: ArrayLike<number>) => Array.from(values).reduce((a, b) => a + b, 0) / values.length;
const std = (values: ArrayLike<number>) => {
  const m = mean(values);
  return Math.sqrt(Array.from(values).reduce((a, v) => a + (v - m) ** 2, 0) / values.length);
};
const sum = (values: ArrayLike<number>) => Array.from(values).reduce((a, b) => a + b, 0);
/** A test image: an asymmetric pattern (so rotations and flips differ) of seeded noise. */
const randomImage = (seed: number) => {
  const random = mulberry32(seed);
  return Uint8Array.from({ length: W * W }, () => Math.floor(random() * 256));
};

describe('image transforms of the monitoring streams', () => {
  it('inversion is 255 - x, and twice is the identity', () => {
    const image = randomImage(1);
    const inverted = invert(image);
    image.forEach((v, i) => expect(inverted[i]).toBe(255 - v));
    expect(invert(inverted)).toEqual(image);
  });

  it('rotation by 0 is the identity, four quarter turns come back exactly, a quarter turn is counter-clockwise', () => {
    const image = randomImage(2);
    expect(rotate(image, W, W, 0)).toEqual(image);
    let turned: Uint8Array = image;
    for (let k = 0; k < 4; k++) turned = rotate(turned, W, W, 90);
    expect(turned).toEqual(image);
    expect(rotate(image, W, W, 90)).not.toEqual(image);

    // A dot right of the centre ((13.5, 13.5)) goes above it: counter-clockwise as displayed, y pointing down.
    const dot = new Uint8Array(W * W);
    dot[13 * W + 20] = 255; // x 20, y 13: 6.5 right, 0.5 up
    const quarter = rotate(dot, W, W, 90);
    expect(quarter[7 * W + 13]).toBe(255); // x 13, y 7: 0.5 left, 6.5 up
    expect(sum(quarter)).toBe(255);
  });

  it('a 30-degree rotation keeps the centre in place and the brightness of a centred shape, and moves an off-centre dot along its circle', () => {
    // A centred 4 x 4 block: its middle stays lit, its mass stays within a few percent (bilinear resampling spreads it).
    const block = new Uint8Array(W * W);
    for (let y = 12; y < 16; y++) for (let x = 12; x < 16; x++) block[y * W + x] = 200;
    const rotated = rotate(block, W, W, SHIFT_PARAMETERS.rotationDegrees);
    for (const [x, y] of [[13, 13], [14, 13], [13, 14], [14, 14]]) expect(rotated[y! * W + x!], `(${x}, ${y})`).toBe(200);
    expect(Math.abs(sum(rotated) - sum(block)) / sum(block)).toBeLessThan(0.05);
    // Where the brightness sits: its centroid is still the centre.
    const centroid = (image: Uint8Array) => {
      let cx = 0;
      let cy = 0;
      image.forEach((v, i) => ((cx += v * (i % W)), (cy += v * Math.floor(i / W))));
      return [cx / sum(image), cy / sum(image)];
    };
    expect(centroid(rotated)[0]).toBeCloseTo(13.5, 5);
    expect(centroid(rotated)[1]).toBeCloseTo(13.5, 5);

    // A 3 x 3 bright patch 8 px right of the centre: its centroid moves to angle 30 degrees above the horizontal.
    const patch = new Uint8Array(W * W);
    for (let y = 12; y <= 14; y++) for (let x = 20; x <= 22; x++) patch[y * W + x] = 255;
    const [px, py] = centroid(rotate(patch, W, W, 30));
    const [ox, oy] = centroid(patch);
    const radius = Math.hypot(ox! - 13.5, oy! - 13.5);
    const angle = Math.atan2(-(oy! - 13.5), ox! - 13.5) + Math.PI / 6;
    expect(px).toBeCloseTo(13.5 + radius * Math.cos(angle), 0);
    expect(py).toBeCloseTo(13.5 - radius * Math.sin(angle), 0);
  });

  it('low contrast keeps the mean and scales the spread by the factor', () => {
    const image = randomImage(3);
    const low = scaleContrast(image, SHIFT_PARAMETERS.contrast);
    expect(Math.abs(mean(low) - mean(image))).toBeLessThan(0.5);
    expect(std(low) / std(image)).toBeCloseTo(SHIFT_PARAMETERS.contrast, 2);
    expect(scaleContrast(image, 1)).toEqual(image);
  });

  it('Gaussian noise has mean 0 and the asked standard deviation (in 0-255 units) away from the clipping, and stays within 0-255', () => {
    const grey = new Uint8Array(100_000).fill(128);
    const noisy = addGaussianNoise(grey, 0.05, mulberry32(4));
    const diff = Array.from(noisy, (v) => v - 128);
    expect(Math.abs(mean(diff))).toBeLessThan(0.2);
    expect(std(diff)).toBeCloseTo(0.05 * 255, 0);
    const clipped = addGaussianNoise(new Uint8Array(1000).fill(250), SHIFT_PARAMETERS.noiseSigma, mulberry32(5));
    expect(Math.max(...clipped)).toBe(255);
    expect(Math.min(...clipped)).toBeGreaterThan(0);
    expect(addGaussianNoise(grey.subarray(0, 100), 0.2, mulberry32(6))).toEqual(addGaussianNoise(grey.subarray(0, 100), 0.2, mulberry32(6)));
  });

  it('glyphs are the 5 x 7 font scaled to the image: a font pixel is a 4 x 4 square, centred', () => {
    const i = renderGlyph('I');
    // "I": 3 + 1 + 1 + 1 + 1 + 1 + 3 = 11 font pixels.
    expect(sum(i) / 255).toBe(11 * GLYPH_SCALE * GLYPH_SCALE);
    // Symmetric about the vertical centre line.
    for (let y = 0; y < W; y++) for (let x = 0; x < W; x++) expect(i[y * W + x]).toBe(i[y * W + (W - 1 - x)]);
    expect(renderGlyph('T').subarray(0, W).filter((v) => v === 255).length).toBe(5 * GLYPH_SCALE); // the top bar spans the glyph
    expect(renderGlyph('L', { shift: 2 })[27 * W + 6]).toBe(255);
    expect(renderGlyph('L')[27 * W + 4]).toBe(255);
    expect(new Set(GLYPHS.map((g) => renderGlyph(g).join(','))).size).toBe(GLYPHS.length);
    expect(() => renderGlyph('?')).toThrow('no glyph for "?"');
  });
});

describe('Fashion-MNIST test-split streams', () => {
  let split: FashionTestSplit;
  beforeAll(async () => {
    split = await loadFashionTestSplit();
  });

  it('falls back to the sample shipped in the repo when the Debian package is absent', async () => {
    const sample = await loadFashionTestSplit('/nonexistent');
    expect(sample).toMatchObject({ count: 500, kind: 'sample' });
    expect(sample.pixels).toHaveLength(500 * W * W);
    expect(split.kind === 'full' ? split.count : 500).toBe(split.count);
  });

  it('each kind is a seeded stream of 28 x 28 images with labels of the model (null for glyphs)', () => {
    for (const kind of STREAM_KINDS) {
      const images = [...monitorStream(split, kind, { seed: 7, length: 50 })];
      expect(images, kind).toHaveLength(50);
      expect(new Set(images.map((i) => i.key)).size).toBe(50);
      for (const image of images) {
        expect(image.pixels).toHaveLength(W * W);
        if (kind === 'glyphs') expect(image.label).toBeNull();
        else expect(split.labelNames).toContain(image.label);
      }
      expect([...monitorStream(split, kind, { seed: 7, length: 50 })], kind).toEqual(images);
      expect([...monitorStream(split, kind, { seed: 8, length: 50 })].map((i) => i.pixels), kind).not.toEqual(images.map((i) => i.pixels));
    }
  });

  it('the pixel shifts are the transforms of test images, and the label shifts change only class frequencies', () => {
    const inDistribution = [...monitorStream(split, 'in-distribution', { seed: 9, length: 20 })];
    const isTestImage = (pixels: Uint8Array, label: string | null) => {
      for (let i = 0; i < split.count; i++) {
        if (split.labelNames[split.labels[i]!] !== label) continue;
        const image = split.pixels.subarray(i * W * W, (i + 1) * W * W);
        if (image.every((v, k) => v === pixels[k])) return image;
      }
      return null;
    };
    for (const image of inDistribution) expect(isTestImage(image.pixels!, image.label)).not.toBeNull();
    // The same seed draws the same images; the shift is applied on top.
    const inverted = [...monitorStream(split, 'inverted', { seed: 9, length: 20 })];
    inverted.forEach((image, n) => expect(image.pixels).toEqual(invert(inDistribution[n]!.pixels!)));
    const rotated = [...monitorStream(split, 'rotated-30', { seed: 9, length: 20 })];
    rotated.forEach((image, n) => expect(image.pixels).toEqual(rotate(inDistribution[n]!.pixels!, W, W, 30)));
    const low = [...monitorStream(split, 'low-contrast', { seed: 9, length: 20 })];
    low.forEach((image, n) => expect(image.pixels).toEqual(scaleContrast(inDistribution[n]!.pixels!, 0.3)));

    const count = (kind: 'in-distribution' | 'class-doubled' | 'class-missing', label: string) =>
      [...monitorStream(split, kind, { seed: 10, length: 11_000, shiftedClass: 3 })].filter((i) => i.label === label).length;
    const shifted = split.labelNames[3]!;
    const other = split.labelNames[5]!;
    expect(count('class-missing', shifted)).toBe(0);
    expect(count('in-distribution', shifted) / 11_000).toBeCloseTo(0.1, 1);
    // Weights 2 : 1 x 9: the shifted class is 2/11 of the stream, each other 1/11.
    expect(count('class-doubled', shifted) / 11_000).toBeCloseTo(2 / 11, 1);
    expect(count('class-doubled', shifted) / count('class-doubled', other)).toBeGreaterThan(1.8);
    expect(count('class-doubled', shifted) / count('class-doubled', other)).toBeLessThan(2.2);
    expect(() => [...monitorStream(split, 'class-missing', { seed: 1, length: 1, shiftedClass: 10 })]).toThrow('shiftedClass must be a class index 0..9');
  });
});
