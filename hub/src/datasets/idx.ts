import fs from 'node:fs/promises';
import zlib from 'node:zlib';
import { badRequest } from '../errors';

const IMAGES_MAGIC = 0x00000803; // unsigned byte, 3 dimensions: count x rows x cols
const LABELS_MAGIC = 0x00000801; // unsigned byte, 1 dimension: count

export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  /** count x rows x cols bytes, row-major. */
  pixels: Uint8Array;
}

/** Reads an IDX file, gunzipping it when its name ends in .gz. */
async function readMaybeGzip(path: string): Promise<Buffer> {
  const bytes = await fs.readFile(path).catch((error: NodeJS.ErrnoException) => {
    throw badRequest(`cannot read ${path}: ${error.code ?? error.message}`);
  });
  return path.endsWith('.gz') ? zlib.gunzipSync(bytes) : bytes;
}

export async function readIdxImages(path: string): Promise<IdxImages> {
  const bytes = await readMaybeGzip(path);
  if (bytes.length < 16 || bytes.readUInt32BE(0) !== IMAGES_MAGIC) {
    throw badRequest(`${path} is not an IDX image file (expected magic 0x00000803)`);
  }
  const count = bytes.readUInt32BE(4);
  const rows = bytes.readUInt32BE(8);
  const cols = bytes.readUInt32BE(12);
  if (bytes.length !== 16 + count * rows * cols) {
    throw badRequest(`${path} is truncated: header says ${count} images of ${rows}x${cols}`);
  }
  return { count, rows, cols, pixels: bytes.subarray(16) };
}

export async function readIdxLabels(path: string): Promise<Uint8Array> {
  const bytes = await readMaybeGzip(path);
  if (bytes.length < 8 || bytes.readUInt32BE(0) !== LABELS_MAGIC) {
    throw badRequest(`${path} is not an IDX label file (expected magic 0x00000801)`);
  }
  const count = bytes.readUInt32BE(4);
  if (bytes.length !== 8 + count) throw badRequest(`${path} is truncated: header says ${count} labels`);
  return bytes.subarray(8);
}
