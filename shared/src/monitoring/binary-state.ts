/**
 * Little-endian byte writer/reader for monitor states: sequential fields, typed arrays prefixed by their length,
 * and a trailing FNV-1a checksum so a truncated or altered state is refused rather than misread.
 */
import { fnv1a } from './profile-arrays';

export class BinaryWriter {
  private bytes = new Uint8Array(4096);
  private view = new DataView(this.bytes.buffer);
  private length = 0;

  private reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + extra));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  u32(value: number): this {
    this.reserve(4);
    this.view.setUint32(this.length, value, true);
    this.length += 4;
    return this;
  }

  f64(value: number): this {
    this.reserve(8);
    this.view.setFloat64(this.length, value, true);
    this.length += 8;
    return this;
  }

  /** Element count (u32) then the values. */
  array(values: ArrayLike<number>, type: 'u8' | 'u16' | 'u32' | 'f32' | 'f64'): this {
    const width = { u8: 1, u16: 2, u32: 4, f32: 4, f64: 8 }[type];
    this.u32(values.length);
    this.reserve(values.length * width);
    for (let i = 0; i < values.length; i++) {
      const at = this.length + i * width;
      const v = values[i]!;
      if (type === 'u8') this.view.setUint8(at, v);
      else if (type === 'u16') this.view.setUint16(at, v, true);
      else if (type === 'u32') this.view.setUint32(at, v, true);
      else if (type === 'f32') this.view.setFloat32(at, v, true);
      else this.view.setFloat64(at, v, true);
    }
    this.length += values.length * width;
    return this;
  }

  /** The bytes written, followed by their checksum. */
  finish(): Uint8Array {
    const body = this.bytes.slice(0, this.length);
    const out = new Uint8Array(this.length + 4);
    out.set(body);
    new DataView(out.buffer).setUint32(this.length, fnv1a(body), true);
    return out;
  }
}

export class BinaryReader {
  private readonly view: DataView;
  private offset = 0;
  private readonly end: number;

  /** Checks the trailing checksum; `what` names the blob in errors. */
  constructor(
    bytes: Uint8Array,
    private readonly what: string,
  ) {
    if (!(bytes instanceof Uint8Array) || bytes.length < 8) throw new Error(`${what} is invalid: too short`);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.end = bytes.length - 4;
    if (this.view.getUint32(this.end, true) !== fnv1a(bytes.subarray(0, this.end))) throw new Error(`${what} is invalid: checksum mismatch (truncated or corrupted)`);
  }

  private need(bytes: number): void {
    if (this.offset + bytes > this.end) throw new Error(`${this.what} is invalid: it ends early`);
  }

  u32(): number {
    this.need(4);
    const value = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return value;
  }

  f64(): number {
    this.need(8);
    const value = this.view.getFloat64(this.offset, true);
    this.offset += 8;
    return value;
  }

  u8s(): Uint8Array {
    const n = this.u32();
    this.need(n);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.view.getUint8(this.offset + i);
    this.offset += n;
    return out;
  }

  u16s(): Uint16Array {
    const n = this.u32();
    this.need(2 * n);
    const out = new Uint16Array(n);
    for (let i = 0; i < n; i++) out[i] = this.view.getUint16(this.offset + 2 * i, true);
    this.offset += 2 * n;
    return out;
  }

  u32s(): Uint32Array {
    const n = this.u32();
    this.need(4 * n);
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.view.getUint32(this.offset + 4 * i, true);
    this.offset += 4 * n;
    return out;
  }

  f32s(): Float32Array {
    const n = this.u32();
    this.need(4 * n);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.view.getFloat32(this.offset + 4 * i, true);
    this.offset += 4 * n;
    return out;
  }

  f64s(): Float64Array {
    const n = this.u32();
    this.need(8 * n);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.view.getFloat64(this.offset + 8 * i, true);
    this.offset += 8 * n;
    return out;
  }

  /** Throws unless every byte was read. */
  done(): void {
    if (this.offset !== this.end) throw new Error(`${this.what} is invalid: ${this.end - this.offset} unread bytes`);
  }
}
