/**
 * ProfileArrays as one self-describing little-endian blob (the bytea of reference_profiles.arrays):
 *   "ELPA" | u32 version | u32 entries | per entry: u8 name length, name (ASCII), u8 type (1 = f32, 2 = f64),
 *   padding to 4, u32 element count, padding to 8, the values | u32 FNV-1a checksum of everything before it.
 * Fields are written in PROFILE_ARRAY_FIELDS order, so the same arrays give the same bytes.
 */
import type { ProfileArrays } from './profile';

const MAGIC = 0x41504c45; // "ELPA" read as a little-endian u32
const VERSION = 1;

/** Every field of ProfileArrays with its element type; pack writes, unpack requires them in this order. */
export const PROFILE_ARRAY_FIELDS = [
  ['headKernel', 'f32'],
  ['headBias', 'f32'],
  ['pcaMean', 'f32'],
  ['pcaAxes', 'f32'],
  ['referenceSample', 'f32'],
  ['sortedConfidences', 'f32'],
  ['predictedMix', 'f64'],
  ['labelPrior', 'f64'],
  ['jointConfusion', 'f64'],
  ['mmdNullMean', 'f64'],
  ['mmdNullSd', 'f64'],
  ['thresholds', 'f64'],
  ['scalars', 'f64'],
] as const satisfies readonly (readonly [keyof ProfileArrays, 'f32' | 'f64'])[];

const TYPE_CODE = { f32: 1, f64: 2 } as const;

/** FNV-1a over bytes, 32-bit. Used as the blob's checksum and, with fingerprints, to tie a monitor state to its profile. */
export function fnv1a(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let hash = seed >>> 0;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193) >>> 0;
  return hash;
}

const align = (offset: number, to: number): number => Math.ceil(offset / to) * to;

export function packProfileArrays(arrays: ProfileArrays): Uint8Array {
  let size = 12;
  for (const [name, type] of PROFILE_ARRAY_FIELDS) {
    const values = arrays[name];
    const expected = type === 'f32' ? Float32Array : Float64Array;
    if (!(values instanceof expected)) throw new Error(`arrays.${name} must be a ${expected.name}`);
    size = align(align(size + 2 + name.length, 4) + 4, 8) + values.byteLength;
  }
  const bytes = new Uint8Array(size + 4);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, PROFILE_ARRAY_FIELDS.length, true);
  let offset = 12;
  for (const [name, type] of PROFILE_ARRAY_FIELDS) {
    const values = arrays[name];
    bytes[offset++] = name.length;
    for (let i = 0; i < name.length; i++) bytes[offset++] = name.charCodeAt(i);
    bytes[offset++] = TYPE_CODE[type];
    offset = align(offset, 4);
    view.setUint32(offset, values.length, true);
    offset = align(offset + 4, 8);
    for (let i = 0; i < values.length; i++) {
      if (type === 'f32') view.setFloat32(offset + 4 * i, values[i]!, true);
      else view.setFloat64(offset + 8 * i, values[i]!, true);
    }
    offset += values.byteLength;
  }
  view.setUint32(offset, fnv1a(bytes.subarray(0, offset)), true);
  return bytes;
}

/** Reads packProfileArrays' blob back; throws an Error saying what is wrong with a short, corrupt or foreign blob. */
export function unpackProfileArrays(bytes: Uint8Array): ProfileArrays {
  const fail = (why: string): never => {
    throw new Error(`profile arrays blob is invalid: ${why}`);
  };
  if (!(bytes instanceof Uint8Array)) fail('not a Uint8Array');
  if (bytes.length < 16) fail(`${bytes.length} bytes is too short`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) fail('it does not start with "ELPA"');
  if (view.getUint32(4, true) !== VERSION) fail(`version ${view.getUint32(4, true)} is not ${VERSION}`);
  const end = bytes.length - 4;
  if (view.getUint32(end, true) !== fnv1a(bytes.subarray(0, end))) fail('checksum mismatch (truncated or corrupted)');
  if (view.getUint32(8, true) !== PROFILE_ARRAY_FIELDS.length) fail(`it holds ${view.getUint32(8, true)} arrays, expected ${PROFILE_ARRAY_FIELDS.length}`);
  const out: Partial<Record<keyof ProfileArrays, Float32Array | Float64Array>> = {};
  let offset = 12;
  for (const [name, type] of PROFILE_ARRAY_FIELDS) {
    if (offset + 1 > end) fail(`it ends before ${name}`);
    const length = bytes[offset++]!;
    const found = String.fromCharCode(...bytes.subarray(offset, offset + length));
    offset += length;
    if (found !== name) fail(`found array "${found}" where ${name} belongs`);
    if (bytes[offset++] !== TYPE_CODE[type]) fail(`${name} is not ${type}`);
    offset = align(offset, 4);
    if (offset + 4 > end) fail(`it ends inside ${name}`);
    const count = view.getUint32(offset, true);
    offset = align(offset + 4, 8);
    const width = type === 'f32' ? 4 : 8;
    if (offset + count * width > end) fail(`${name} runs past the end`);
    const values = type === 'f32' ? new Float32Array(count) : new Float64Array(count);
    for (let i = 0; i < count; i++) values[i] = type === 'f32' ? view.getFloat32(offset + 4 * i, true) : view.getFloat64(offset + 8 * i, true);
    out[name] = values;
    offset += count * width;
  }
  if (offset !== end) fail(`${end - offset} unexpected bytes after the last array`);
  return out as ProfileArrays;
}
