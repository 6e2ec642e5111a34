/** A fixed-capacity ring of rows of `width` values (the last `capacity` rows pushed), over any typed array. */
type Typed = Float64Array | Float32Array | Uint8Array | Uint16Array;

export class RowRing<T extends Typed> {
  private start = 0;
  private count = 0;

  constructor(
    private readonly data: T,
    readonly width: number,
  ) {
    if (data.length % width !== 0 || data.length === 0) throw new Error(`ring storage of ${data.length} values does not hold whole rows of ${width}`);
  }

  get capacity(): number {
    return this.data.length / this.width;
  }

  get size(): number {
    return this.count;
  }

  /** Appends one row (its first `width` values), dropping the oldest when full. O(width). */
  push(row: ArrayLike<number>): void {
    const slot = this.count === this.capacity ? this.start : (this.start + this.count) % this.capacity;
    for (let j = 0; j < this.width; j++) this.data[slot * this.width + j] = row[j]!;
    if (this.count === this.capacity) this.start = (this.start + 1) % this.capacity;
    else this.count++;
  }

  /** The rows, oldest first, as one [size, width] array of the storage type. O(size·width). */
  ordered(): T {
    const out = this.data.slice(0, this.count * this.width) as T;
    for (let a = 0; a < this.count; a++) {
      const slot = (this.start + a) % this.capacity;
      out.set(this.data.subarray(slot * this.width, (slot + 1) * this.width), a * this.width);
    }
    return out;
  }

  /** Refills from ordered() output. */
  load(rows: ArrayLike<number>): void {
    if (rows.length % this.width !== 0 || rows.length / this.width > this.capacity) throw new Error(`cannot load ${rows.length} values into a ring of ${this.capacity} rows of ${this.width}`);
    this.start = 0;
    this.count = rows.length / this.width;
    for (let i = 0; i < rows.length; i++) this.data[i] = rows[i]!;
  }
}
