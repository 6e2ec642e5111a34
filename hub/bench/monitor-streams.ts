/**
 * Image streams for the monitoring benchmark: the Fashion-MNIST test split (never trained on) drawn as seeded
 * streams, in distribution and under known shifts, in the shape `replayImages` classifies (28 x 28 grey pixels,
 * row-major, with the true label or null). The full split comes from the Debian package dataset-fashion-mnist
 * where it is installed, else the 500 test images of the sample in hub/fixtures.
 */
import { type ColorMode, mulberry32, sampleCategorical } from '@edgeloop/shared';
import { readIdxImages, readIdxLabels } from '../src/datasets/idx';
import { FASHION_MNIST_LABELS, fashionMnistSource } from '../src/demo';
import type { ReplayImage } from '../src/cli/replay';

export const FASHION_SIDE = 28;
/** What the streams are made for: the Fashion-MNIST model's input. */
export const FASHION_INPUT: { height: number; width: number; color: ColorMode } = { height: FASHION_SIDE, width: FASHION_SIDE, color: 'grayscale' };

export const STREAM_KINDS = ['in-distribution', 'class-doubled', 'class-missing', 'inverted', 'rotated-30', 'low-contrast', 'noise', 'glyphs'] as const;
export type StreamKind = (typeof STREAM_KINDS)[number];

/** The shifts' sizes, as the benchmark states them. */
export const SHIFT_PARAMETERS = {
  /** class-doubled: the shifted class is drawn this many times as often as each other class. */
  classWeight: 2,
  rotationDegrees: 30,
  /** low-contrast: distance from the image's mean brightness multiplied by this. */
  contrast: 0.3,
  /** noise: standard deviation of additive Gaussian noise, in units of the full 0-255 range. */
  noiseSigma: 0.2,
} as const;

export interface FashionTestSplit {
  count: number;
  /** count x 28 x 28 bytes, row-major, 0 = background. */
  pixels: Uint8Array;
  /** count class indices into labels. */
  labels: Uint8Array;
  labelNames: readonly string[];
  kind: 'full' | 'sample';
  dir: string;
}

/** The test split (t10k): the full 10,000 images where the Debian package is installed, else the sample's 500. */
export async function loadFashionTestSplit(debianDir = '/usr/share/datasets/fashion-mnist'): Promise<FashionTestSplit> {
  const source = fashionMnistSource(debianDir);
  const test = source.pairs.find((pair) => pair.split === 'test')!;
  const [images, labels] = await Promise.all([readIdxImages(test.images), readIdxLabels(test.labels)]);
  if (images.rows !== FASHION_SIDE || images.cols !== FASHION_SIDE || images.count !== labels.length) {
    throw new Error(`${test.images}: expected 28 x 28 images, one per label; found ${images.count} of ${images.rows} x ${images.cols} and ${labels.length} labels`);
  }
  return { count: images.count, pixels: images.pixels, labels, labelNames: FASHION_MNIST_LABELS, kind: source.kind, dir: source.dir };
}

// ---------------------------------------------------------------------------------------------------------------
// Transforms: pure functions of grey images (height * width bytes, row-major); each returns a new image.

/** 255 - x. */
export function invert(pixels: Uint8Array): Uint8Array {
  return pixels.map((v) => 255 - v);
}

/**
 * Rotates by `degrees` (counter-clockwise as displayed, y pointing down) about the image centre ((w-1)/2, (h-1)/2),
 * sampling the source bilinearly; what comes from outside the image is 0 (Fashion-MNIST's background).
 */
export function rotate(pixels: Uint8Array, width: number, height: number, degrees: number): Uint8Array {
  const out = new Uint8Array(width * height);
  const radians = (degrees * Math.PI) / 180;
  // Rounded so that multiples of 90 degrees move pixels exactly.
  const cos = Math.round(Math.cos(radians) * 1e12) / 1e12;
  const sin = Math.round(Math.sin(radians) * 1e12) / 1e12;
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const at = (x: number, y: number) => (x >= 0 && x < width && y >= 0 && y < height ? pixels[y * width + x]! : 0);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // The source of output (x, y): the inverse rotation. Counter-clockwise on screen (y down) is clockwise in maths.
      const dx = x - cx;
      const dy = y - cy;
      const sx = cx + cos * dx - sin * dy;
      const sy = cy + sin * dx + cos * dy;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const value =
        at(x0, y0) * (1 - fx) * (1 - fy) + at(x0 + 1, y0) * fx * (1 - fy) + at(x0, y0 + 1) * (1 - fx) * fy + at(x0 + 1, y0 + 1) * fx * fy;
      out[y * width + x] = Math.round(value);
    }
  }
  return out;
}

/** Moves every pixel towards the image's mean brightness: mean + factor * (x - mean), rounded. */
export function scaleContrast(pixels: Uint8Array, factor: number): Uint8Array {
  const mean = pixels.reduce((sum, v) => sum + v, 0) / Math.max(pixels.length, 1);
  return pixels.map((v) => Math.round(mean + factor * (v - mean)));
}

/** A standard normal draw (Box-Muller) from a uniform generator. */
export function gaussian(random: () => number): number {
  const u = 1 - random(); // (0, 1]: log(0) never happens
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** Adds Gaussian noise of standard deviation sigma (a share of the 0-255 range), clipped to 0-255. */
export function addGaussianNoise(pixels: Uint8Array, sigma: number, random: () => number): Uint8Array {
  // Uint8Array.map clamps nothing (it wraps): clip by hand.
  return pixels.map((v) => Math.min(255, Math.max(0, Math.round(v + gaussian(random) * sigma * 255))));
}

// ---------------------------------------------------------------------------------------------------------------
// Glyphs: letters and digits the model never saw, from a 5 x 7 bitmap font (each row 5 bits, the high bit left).

const FONT_5X7: Record<string, readonly number[]> = {
  A: [0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11],
  B: [0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e],
  C: [0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e],
  D: [0x1c, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1c],
  E: [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f],
  F: [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10],
  G: [0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f],
  H: [0x11, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11],
  I: [0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e],
  J: [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c],
  K: [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
  L: [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f],
  M: [0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11],
  N: [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
  O: [0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e],
  P: [0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10],
  Q: [0x0e, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0d],
  R: [0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11],
  S: [0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e],
  T: [0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
  U: [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e],
  V: [0x11, 0x11, 0x11, 0x11, 0x11, 0x0a, 0x04],
  W: [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0a],
  X: [0x11, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x11],
  Y: [0x11, 0x11, 0x11, 0x0a, 0x04, 0x04, 0x04],
  Z: [0x1f, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1f],
  '0': [0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e],
  '1': [0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e],
  '2': [0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f],
  '3': [0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e],
  '4': [0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02],
  '5': [0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e],
  '6': [0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e],
  '7': [0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
  '8': [0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e],
  '9': [0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c],
};
export const GLYPHS = Object.keys(FONT_5X7);
/** Each font pixel becomes GLYPH_SCALE x GLYPH_SCALE image pixels: 5 x 7 -> 20 x 28, the image's full height. */
export const GLYPH_SCALE = 4;

/**
 * A glyph on a 28 x 28 black background, white-on-black like Fashion-MNIST: scaled by GLYPH_SCALE (nearest
 * neighbour), centred, moved `shift` pixels right (-4..4 stays inside), strokes of brightness `ink`.
 */
export function renderGlyph(glyph: string, options: { shift?: number; ink?: number } = {}): Uint8Array {
  const rows = FONT_5X7[glyph];
  if (!rows) throw new Error(`no glyph for "${glyph}"; the font has: ${GLYPHS.join('')}`);
  const out = new Uint8Array(FASHION_SIDE * FASHION_SIDE);
  const left = (FASHION_SIDE - 5 * GLYPH_SCALE) / 2 + (options.shift ?? 0);
  const top = (FASHION_SIDE - 7 * GLYPH_SCALE) / 2;
  for (let r = 0; r < 7; r++) {
    for (let c = 0; c < 5; c++) {
      if (!((rows[r]! >> (4 - c)) & 1)) continue;
      for (let y = top + r * GLYPH_SCALE; y < top + (r + 1) * GLYPH_SCALE; y++) {
        for (let x = left + c * GLYPH_SCALE; x < left + (c + 1) * GLYPH_SCALE; x++) {
          if (x >= 0 && x < FASHION_SIDE) out[y * FASHION_SIDE + x] = options.ink ?? 255;
        }
      }
    }
  }
  return out;
}

/** A Fashion-MNIST image (28 x 28) as the kind's shift shows it: a new image (a copy where the kind changes nothing). */
export function shiftImage(kind: Exclude<StreamKind, 'glyphs'>, image: Uint8Array, random: () => number): Uint8Array {
  if (kind === 'inverted') return invert(image);
  if (kind === 'rotated-30') return rotate(image, FASHION_SIDE, FASHION_SIDE, SHIFT_PARAMETERS.rotationDegrees);
  if (kind === 'low-contrast') return scaleContrast(image, SHIFT_PARAMETERS.contrast);
  if (kind === 'noise') return addGaussianNoise(image, SHIFT_PARAMETERS.noiseSigma, random);
  return image.slice();
}

// ---------------------------------------------------------------------------------------------------------------
// Streams.

export interface StreamOptions {
  seed: number;
  /** Images the stream yields. */
  length: number;
  /** The class that class-doubled draws twice as often and class-missing never draws (an index into the labels). */
  shiftedClass?: number;
}

/** Cumulative class weights for drawing a class: 1 each, or the shift's weight for the shifted class. */
function classCumulative(classes: number, kind: StreamKind, shiftedClass: number): Float64Array {
  const weight = (c: number) => (c !== shiftedClass ? 1 : kind === 'class-doubled' ? SHIFT_PARAMETERS.classWeight : kind === 'class-missing' ? 0 : 1);
  const cumulative = new Float64Array(classes);
  let total = 0;
  for (let c = 0; c < classes; c++) cumulative[c] = total += weight(c);
  return cumulative.map((v) => v / total);
}

/**
 * A seeded stream of `length` images of one kind. Images are drawn with replacement: a class by the kind's class
 * weights (equal in distribution), then an image of that class uniformly; the shift's transform is applied to each.
 * glyphs yields rendered letters and digits with label null (no class of the model is right).
 */
export function* monitorStream(split: FashionTestSplit, kind: StreamKind, options: StreamOptions): Generator<ReplayImage> {
  const random = mulberry32(options.seed);
  const shiftedClass = options.shiftedClass ?? 0;
  const classes = split.labelNames.length;
  if (!Number.isInteger(shiftedClass) || shiftedClass < 0 || shiftedClass >= classes) throw new Error(`shiftedClass must be a class index 0..${classes - 1}`);
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  split.labels.forEach((label, i) => byClass[label]!.push(i));
  const cumulative = classCumulative(classes, kind, shiftedClass);
  const side = FASHION_SIDE;
  for (let n = 0; n < options.length; n++) {
    const key = `${kind}/${options.seed}/${n}`;
    if (kind === 'glyphs') {
      const glyph = GLYPHS[Math.floor(random() * GLYPHS.length)]!;
      yield { key, label: null, pixels: renderGlyph(glyph, { shift: Math.floor(random() * 5) - 2, ink: 180 + Math.floor(random() * 76) }) };
      continue;
    }
    let c = sampleCategorical(random, cumulative);
    // A class with no image in this split (possible only in a tiny sample) gives its draw to the next class.
    while (byClass[c]!.length === 0) c = (c + 1) % classes;
    const members = byClass[c]!;
    const index = members[Math.floor(random() * members.length)]!;
    const image = split.pixels.subarray(index * side * side, (index + 1) * side * side);
    yield { key, label: split.labelNames[c]!, pixels: shiftImage(kind, image, random) };
  }
}
