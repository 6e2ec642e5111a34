import zlib from 'node:zlib';
import { PNG_SIGNATURE, pngChunk } from '../src/images/png';

/**
 * A valid, all-black greyscale PNG of width x height that is tiny on the wire: 16000 x 16000 is about 250 KB and
 * decodes to 256 MB (a decompression bomb). Deflated as a stream with run-length coding, in a fraction of a second.
 */
export async function solidPng(width: number, height: number): Promise<Buffer> {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth; colour type 0 (greyscale)
  const deflate = zlib.createDeflate({ level: 9, strategy: zlib.constants.Z_RLE });
  const out: Buffer[] = [];
  deflate.on('data', (c: Buffer) => out.push(c));
  const ended = new Promise((resolve, reject) => deflate.on('end', resolve).on('error', reject));
  const rows = 256;
  const block = Buffer.alloc((width + 1) * rows); // each scanline: filter 0, then black pixels
  for (let y = 0; y < height; y += rows) {
    const n = Math.min(rows, height - y);
    if (!deflate.write(n === rows ? block : block.subarray(0, (width + 1) * n))) await new Promise((resolve) => deflate.once('drain', resolve));
  }
  deflate.end();
  await ended;
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', header), pngChunk('IDAT', Buffer.concat(out)), pngChunk('IEND', new Uint8Array())]);
}
