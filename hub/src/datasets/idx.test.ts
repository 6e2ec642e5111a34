import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SAMPLE_DIR } from '../demo';
import { readIdxImages, readIdxLabels } from './idx';

describe('IDX files', () => {
  it('reads the shipped Fashion-MNIST sample', async () => {
    const images = await readIdxImages(path.join(SAMPLE_DIR, 't10k-images-idx3-ubyte.gz'));
    const labels = await readIdxLabels(path.join(SAMPLE_DIR, 't10k-labels-idx1-ubyte.gz'));
    expect(images).toMatchObject({ count: 500, rows: 28, cols: 28 });
    expect(images.pixels.length).toBe(500 * 784);
    expect(labels.length).toBe(500);
    expect(Math.max(...labels)).toBe(9);
  });

  it('names the file and the problem for a wrong magic or a truncated file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-idx-'));
    const labelsAsImages = path.join(SAMPLE_DIR, 't10k-labels-idx1-ubyte.gz');
    await expect(readIdxImages(labelsAsImages)).rejects.toThrow(/t10k-labels-idx1-ubyte.gz is not an IDX image file/);
    const truncated = path.join(dir, 'truncated-idx3');
    const header = Buffer.alloc(16);
    header.writeUInt32BE(0x803, 0);
    header.writeUInt32BE(10, 4);
    header.writeUInt32BE(28, 8);
    header.writeUInt32BE(28, 12);
    fs.writeFileSync(truncated, Buffer.concat([header, Buffer.alloc(100)]));
    await expect(readIdxImages(truncated)).rejects.toThrow(/truncated: header says 10 images of 28x28/);
    await expect(readIdxLabels(path.join(dir, 'missing'))).rejects.toThrow(/cannot read .*missing: ENOENT/);
  });
});
