/**
 * Streams for the loop benchmark (hub/bench/loop.bench.ts): the Fashion-MNIST test split (t10k) cut in two halves.
 * The first half never enters a dataset: it is what devices photograph and labelers review (new images, as from a
 * phone). The second half is the base dataset version's test split, and its shifted copy is "the rest of the
 * stream" both models are measured on after the loop. A shift is a transform of each image and, for a changed class
 * mix, a choice of which images a half shows.
 */
import type { ReplayImage } from '../src/cli/replay';
import { FASHION_SIDE, type FashionTestSplit, SHIFT_PARAMETERS, rotate, scaleContrast } from './monitor-streams';

const PIXELS = FASHION_SIDE * FASHION_SIDE;

export interface LoopShift {
  name: 'low-contrast' | 'rotated-30' | 'class-mix';
  /** In words, for the table. */
  description: string;
  /** The image as the shifted stream shows it (a new array). */
  transform(image: Uint8Array): Uint8Array;
  /** For a changed class mix: the class drawn more often and its share of the stream; null keeps the split's mix. */
  classMix: { label: string; share: number } | null;
}

export const LOOP_SHIFTS: readonly LoopShift[] = [
  { name: 'low-contrast', description: `contrast x${SHIFT_PARAMETERS.contrast}`, transform: (image) => scaleContrast(image, SHIFT_PARAMETERS.contrast), classMix: null },
  {
    name: 'rotated-30',
    description: `rotated ${SHIFT_PARAMETERS.rotationDegrees} degrees`,
    transform: (image) => rotate(image, FASHION_SIDE, FASHION_SIDE, SHIFT_PARAMETERS.rotationDegrees),
    classMix: null,
  },
  { name: 'class-mix', description: 'Shirt at 40% of the stream', transform: (image) => image.slice(), classMix: { label: 'Shirt', share: 0.4 } },
];

/** The halves of the test split: [from, to) image indices. */
export function testHalves(split: Pick<FashionTestSplit, 'count'>): { stream: [number, number]; rest: [number, number] } {
  const middle = Math.floor(split.count / 2);
  return { stream: [0, middle], rest: [middle, split.count] };
}

/**
 * The indices of [from, to) that a shift's stream shows, in order. With a class mix, every image of the class and
 * the first images of the other classes in order, as many as keep the class at its share (without replacement, so
 * no image is shown twice: a labeler shares each picture once).
 */
export function streamIndices(split: Pick<FashionTestSplit, 'labels' | 'labelNames'>, range: [number, number], shift: LoopShift): number[] {
  const all = Array.from({ length: range[1] - range[0] }, (_, i) => range[0] + i);
  if (!shift.classMix) return all;
  const shifted = split.labelNames.indexOf(shift.classMix.label);
  if (shifted < 0) throw new Error(`class mix: no label "${shift.classMix.label}" among ${split.labelNames.join(', ')}`);
  const ofClass = all.filter((i) => split.labels[i] === shifted);
  const othersWanted = Math.round((ofClass.length * (1 - shift.classMix.share)) / shift.classMix.share);
  // The first images of each other class, in proportion to how many the half has, keep their own mix.
  const others = all.filter((i) => split.labels[i] !== shifted);
  const keep = new Set<number>();
  for (let c = 0; c < split.labelNames.length; c++) {
    if (c === shifted) continue;
    const members = others.filter((i) => split.labels[i] === c);
    for (const i of members.slice(0, Math.round((members.length * othersWanted) / Math.max(others.length, 1)))) keep.add(i);
  }
  return all.filter((i) => split.labels[i] === shifted || keep.has(i));
}

/** The image at `index` of the split (a view, not a copy). */
export const imageAt = (split: Pick<FashionTestSplit, 'pixels'>, index: number): Uint8Array => split.pixels.subarray(index * PIXELS, (index + 1) * PIXELS);

/** The shifted images of `indices` as replay classifies them, keyed `<prefix>/<index>`. */
export function shiftedImages(split: FashionTestSplit, indices: readonly number[], shift: LoopShift, prefix: string): ReplayImage[] {
  return indices.map((i) => ({ key: `${prefix}/${i}`, label: split.labelNames[split.labels[i]!]!, pixels: shift.transform(imageAt(split, i)) }));
}

/** IDX files (MNIST format, uncompressed) of the split's images [from, to): what `edgeloop import idx` reads. */
export function idxBytes(split: Pick<FashionTestSplit, 'pixels' | 'labels'>, range: [number, number]): { images: Buffer; labels: Buffer } {
  const count = range[1] - range[0];
  const images = Buffer.alloc(16 + count * PIXELS);
  images.writeUInt32BE(0x00000803, 0);
  images.writeUInt32BE(count, 4);
  images.writeUInt32BE(FASHION_SIDE, 8);
  images.writeUInt32BE(FASHION_SIDE, 12);
  images.set(split.pixels.subarray(range[0] * PIXELS, range[1] * PIXELS), 16);
  const labels = Buffer.alloc(8 + count);
  labels.writeUInt32BE(0x00000801, 0);
  labels.writeUInt32BE(count, 4);
  labels.set(split.labels.subarray(range[0], range[1]), 8);
  return { images, labels };
}
