import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readIdxImages, readIdxLabels } from '../src/datasets/idx';
import { LOOP_SHIFTS, idxBytes, imageAt, shiftedImages, streamIndices, testHalves } from './loop-streams';
import { loadFashionTestSplit } from './monitor-streams';

const split = await loadFashionTestSplit('/nonexistent'); // the sample's 500 test images
const shift = (name: string) => LOOP_SHIFTS.find((s) => s.name === name)!;

describe('the loop benchmark streams', () => {
  it('cuts the test split into two halves that cover it once', () => {
    const { stream, rest } = testHalves(split);
    expect(stream[0]).toBe(0);
    expect(stream[1]).toBe(rest[0]);
    expect(rest[1]).toBe(split.count);
  });

  it('keeps the class at its share in a changed class mix, each image once, and every image of that class', () => {
    const { stream } = testHalves(split);
    const mix = shift('class-mix');
    const indices = streamIndices(split, stream, mix);
    const shirt = split.labelNames.indexOf('Shirt');
    const shirts = indices.filter((i) => split.labels[i] === shirt).length;
    const inHalf = Array.from({ length: stream[1] }, (_, i) => i).filter((i) => split.labels[i] === shirt).length;
    expect(new Set(indices).size).toBe(indices.length);
    expect(indices.every((i) => i >= stream[0] && i < stream[1])).toBe(true);
    expect(shirts).toBe(inHalf);
    expect(Math.abs(shirts / indices.length - 0.4)).toBeLessThan(0.02);
    // The other classes all still appear.
    expect(new Set(indices.map((i) => split.labels[i])).size).toBe(split.labelNames.length);
    expect(streamIndices(split, stream, shift('rotated-30'))).toHaveLength(stream[1] - stream[0]);
  });

  it('shifts copies of the images, labelled and keyed', () => {
    const images = shiftedImages(split, [3, 4], shift('low-contrast'), 'review');
    expect(images.map((i) => i.key)).toEqual(['review/3', 'review/4']);
    expect(images[0]!.label).toBe(split.labelNames[split.labels[3]!]);
    expect(images[0]!.pixels).not.toEqual(imageAt(split, 3));
    expect(Math.max(...images[0]!.pixels!) - Math.min(...images[0]!.pixels!)).toBeLessThan(Math.max(...imageAt(split, 3)) - Math.min(...imageAt(split, 3)));
  });

  it('writes IDX files the importer reads back', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loop-idx-'));
    try {
      const { images, labels } = idxBytes(split, [10, 30]);
      fs.writeFileSync(path.join(dir, 'images'), images);
      fs.writeFileSync(path.join(dir, 'labels'), labels);
      const read = await readIdxImages(path.join(dir, 'images'));
      expect(read).toMatchObject({ count: 20, rows: 28, cols: 28 });
      expect(Buffer.from(read.pixels.subarray(0, 784)).equals(Buffer.from(imageAt(split, 10)))).toBe(true);
      expect(Array.from(await readIdxLabels(path.join(dir, 'labels')))).toEqual(Array.from(split.labels.subarray(10, 30)));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
