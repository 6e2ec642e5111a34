/**
 * Build step: a gzip and a brotli copy beside each compressible file of the built web apps (app.js -> app.js.gz,
 * app.js.br), made once at the best ratios, which the hub serves to browsers that accept them (hub/src/server.ts). The
 * inference worker's script, for one, is a fifth of its size in gzip. Browsers decompress before anything else sees
 * the bytes, so the service worker caches the same responses either way.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Plugin } from 'vite';

/** File types worth compressing; images and model shards are compressed already, or nearly random. */
export const COMPRESSIBLE = new Set(['.js', '.mjs', '.css', '.html', '.json', '.wasm', '.svg', '.webmanifest']);
/** Below this a file fits in a packet or two either way. */
const MIN_BYTES = 1024;

const ENCODERS = {
  '.gz': (bytes: Buffer) => zlib.gzipSync(bytes, { level: 9 }),
  '.br': (bytes: Buffer) =>
    zlib.brotliCompressSync(bytes, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } }),
};

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(file) : [file];
  });
}

/** Writes the compressed copies once everything else (the service worker too) is written to `outDir`. */
export function precompress(outDir: string): Plugin {
  return {
    name: 'edgeloop-precompress',
    apply: 'build',
    enforce: 'post',
    closeBundle: {
      order: 'post',
      sequential: true,
      handler() {
        for (const file of filesUnder(outDir)) {
          if (!COMPRESSIBLE.has(path.extname(file))) continue;
          const bytes = fs.readFileSync(file);
          if (bytes.length < MIN_BYTES) continue;
          for (const [extension, encode] of Object.entries(ENCODERS)) {
            const encoded = encode(bytes);
            if (encoded.length < bytes.length * 0.9) fs.writeFileSync(file + extension, encoded);
          }
        }
      },
    },
  };
}
