/**
 * Rows in PostgreSQL's binary COPY format (COPY's "Binary Format" in the PostgreSQL 15 manual), and COPY ... FROM
 * through either driver. Binary, not text: an embedding goes as its own bytes (text would spell every byte as two hex
 * digits for the server to decode again), numbers and times without being printed and parsed back.
 */
import { PGlite } from '@electric-sql/pglite';
import type postgres from 'postgres';
import type { Database } from './database';

/** "PGCOPY\n\377\r\n\0", then 32-bit flags (0: no OIDs) and the header extension's length (0). */
const HEADER = Buffer.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
/** PostgreSQL's timestamps count microseconds from 2000-01-01T00:00:00Z. */
const POSTGRES_EPOCH_MS = Date.UTC(2000, 0, 1);

/** Each character code's hex digit value; -1 for '-', -2 for anything else. */
const HEX_DIGIT = (() => {
  const table = new Int8Array(128).fill(-2);
  for (let i = 0; i < 10; i++) table[48 + i] = i;
  for (let i = 0; i < 6; i++) table[65 + i] = table[97 + i] = 10 + i;
  table[45] = -1;
  return table;
})();

/** Writes rows field by field into one growing buffer: `row(n)` and then exactly n fields, in the COPY's column order. */
export class BinaryCopyWriter {
  private buffer: Buffer<ArrayBuffer>;
  private at = 0;
  private readonly encoded = new Map<string, Buffer>();

  constructor(expectedBytes = 64 * 1024) {
    this.buffer = Buffer.allocUnsafe(Math.max(expectedBytes, HEADER.length + 2));
    this.at = HEADER.copy(this.buffer, 0);
  }

  row(fields: number): this {
    this.reserve(2);
    this.at = this.buffer.writeInt16BE(fields, this.at);
    return this;
  }

  null(): this {
    this.reserve(4);
    this.at = this.buffer.writeInt32BE(-1, this.at);
    return this;
  }

  /** A uuid in its canonical text form (36 characters, hex in either case) as its 16 bytes. */
  uuid(value: string): this {
    this.field(16);
    const buffer = this.buffer;
    let at = this.at;
    let high = -1; // the first digit of a byte, until its second arrives
    let digits = 0;
    for (let i = 0; i < value.length; i++) {
      const digit = HEX_DIGIT[value.charCodeAt(i)] ?? -2;
      if (digit === -1) continue; // '-'
      if (digit < 0 || ++digits > 32) throw new Error(`not a uuid: ${value}`);
      if (high < 0) high = digit;
      else (buffer[at++] = (high << 4) | digit), (high = -1);
    }
    if (digits !== 32) throw new Error(`not a uuid: ${value}`);
    this.at = at;
    return this;
  }

  /**
   * Text as UTF-8. A batch repeats the same few strings (labels, channels, devices) row after row: each distinct one
   * is encoded once per writer.
   */
  text(value: string | null): this {
    if (value === null) return this.null();
    let bytes = this.encoded.get(value);
    if (!bytes) this.encoded.set(value, (bytes = Buffer.from(value, 'utf8')));
    return this.bytes(bytes);
  }

  /** jsonb's binary form: a version byte (1), then the JSON text. */
  jsonb(json: string): this {
    const length = Buffer.byteLength(json);
    this.field(length + 1);
    this.buffer[this.at++] = 1;
    this.at += this.buffer.write(json, this.at, length, 'utf8');
    return this;
  }

  float8(value: number): this {
    this.field(8);
    this.at = this.buffer.writeDoubleBE(value, this.at);
    return this;
  }

  /** A field of these bytes: a bytea's, or text's UTF-8. */
  bytes(bytes: Uint8Array): this {
    this.field(bytes.length);
    this.buffer.set(bytes, this.at);
    this.at += bytes.length;
    return this;
  }

  /** Milliseconds since the Unix epoch (a JS Date's value) as timestamptz. */
  timestamptz(ms: number): this {
    this.field(8);
    this.at = this.buffer.writeBigInt64BE(BigInt(ms - POSTGRES_EPOCH_MS) * 1000n, this.at);
    return this;
  }

  /** The rows with the trailer (a field count of -1): one COPY's whole input. */
  finish(): Buffer<ArrayBuffer> {
    this.reserve(2);
    this.at = this.buffer.writeInt16BE(-1, this.at);
    return this.buffer.subarray(0, this.at);
  }

  /** A field's 32-bit length, with room for its bytes after it. */
  private field(length: number): void {
    this.reserve(4 + length);
    this.at = this.buffer.writeInt32BE(length, this.at);
  }

  private reserve(bytes: number): void {
    if (this.at + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.at + bytes));
    this.buffer.copy(grown, 0, 0, this.at);
    this.buffer = grown;
  }
}

/**
 * `COPY table (columns) FROM` the binary rows: from STDIN on PostgreSQL, from a blob on PGlite (its only way in).
 * `table` and `columns` are the caller's identifiers, never input. Throws the driver's error (a unique violation is
 * code 23505 on both).
 */
export async function copyBinaryInto(db: Database, table: string, columns: readonly string[], rows: Buffer<ArrayBuffer>): Promise<void> {
  const client = (db as unknown as { $client: PGlite | postgres.Sql }).$client;
  const target = `${table} (${columns.join(', ')})`;
  if (client instanceof PGlite) {
    await client.query(`copy ${target} from '/dev/blob' with (format binary)`, [], { blob: new Blob([rows]) });
    return;
  }
  // A connection of its own: postgres pipelines queries onto busy connections when the pool is short, and a query
  // written into a COPY in progress breaks the connection (protocol synchronization lost).
  const connection = await client.reserve();
  try {
    const query = connection.unsafe(`copy ${target} from stdin with (format binary)`);
    // postgres 3.4.9 settles the query when COPY starts and never settles the stream when the server refuses the rows
    // after they were all sent (porsager/postgres#1173): it only hands the error to the settled query's reject. Take
    // it from there, or a refused COPY (a duplicate key) would wait forever.
    let refused!: (error: unknown) => void;
    const refusal = new Promise<never>((_, reject) => (refused = reject));
    const settle = (query as unknown as { reject: (error: unknown) => void }).reject;
    (query as unknown as { reject: (error: unknown) => void }).reject = (error) => {
      refused(error);
      settle(error);
    };
    const stream = await query.writable();
    const finished = new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      stream.on('finish', resolve);
      stream.end(rows);
    });
    await Promise.race([finished, refusal]);
  } finally {
    connection.release();
  }
}
