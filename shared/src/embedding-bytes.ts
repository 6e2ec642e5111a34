/**
 * Embeddings as bytes: float32 little-endian, 4 bytes per value. The hub stores them so (a bytea column) and reads
 * them back as a Float32Array view instead of parsing text; a bulk device upload may send them so too.
 */

const littleEndian = new Uint8Array(new Float32Array([1]).buffer)[3] === 0x3f;

function requireLittleEndian(): void {
  // Every platform the hub and the PWA run on (x86-64, arm64, browsers) is little-endian; a big-endian one would
  // read every stored embedding wrong, so it is refused rather than converted byte by byte.
  if (!littleEndian) throw new Error('embeddings are stored as float32 little-endian; this platform is big-endian');
}

export function embeddingToBytes(values: ArrayLike<number>): Uint8Array {
  return float32Bytes(Float32Array.from(values));
}

/** The bytes of float32 values as stored: a view of the array's own bytes, not a copy. */
export function float32Bytes(values: Float32Array): Uint8Array {
  requireLittleEndian();
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** A Float32Array over the bytes (copied once when they are not 4-byte aligned, as a driver's buffer may not be). */
export function embeddingFromBytes(bytes: Uint8Array): Float32Array {
  requireLittleEndian();
  if (bytes.length % 4 !== 0) throw new Error(`an embedding's bytes must be a multiple of 4, got ${bytes.length}`);
  if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  return new Float32Array(bytes.slice().buffer);
}
