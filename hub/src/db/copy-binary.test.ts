import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, type TestHub, createTestHub } from '../../test/test-hub';
import { BinaryCopyWriter, copyBinaryInto } from './copy-binary';

interface Row {
  id: string;
  name: string | null;
  score: number;
  doc: unknown;
  bytes: Uint8Array;
  at: Date;
}

const ROWS: Row[] = [
  { id: '3f1c1e7e-8a53-4b1f-9f3e-2f4a1c0d9b7a', name: 'say "hi", {ok}\t\\n', score: -0, doc: { top: [{ label: 'été 😀', p: 0.25 }] }, bytes: new Uint8Array([0, 1, 254, 255]), at: new Date('2026-11-30T10:00:00.123Z') },
  { id: 'ABCDEF01-2345-4678-9ABC-DEF012345678', name: null, score: 1.7976931348623157e308, doc: [], bytes: new Uint8Array(), at: new Date('1999-12-31T23:59:59.999Z') },
  { id: '00000000-0000-4000-8000-000000000000', name: '', score: 5e-324, doc: 'NULL', bytes: new Uint8Array(3000).fill(7), at: new Date(0) },
];

describe.each(DATABASES)('binary COPY on $kind', ({ kind, skip }) => {
  let hub: TestHub;
  beforeAll(async () => {
    if (skip) return;
    hub = await createTestHub(kind);
    await hub.deps.db.execute(sql`create table copy_check (id uuid primary key, name text, score float8 not null, doc jsonb not null, bytes bytea not null, at timestamptz not null, tag uuid not null)`);
  });
  afterAll(() => hub?.close());

  it.skipIf(skip)('stores every field type as written, growing its buffer past the first guess', async () => {
    const tag = '11111111-2222-4333-8444-555555555555';
    // 16 bytes to start with: every row makes it grow.
    const writer = new BinaryCopyWriter(16);
    for (const row of ROWS) {
      writer.row(7).uuid(row.id).text(row.name).float8(row.score).jsonb(JSON.stringify(row.doc)).bytes(row.bytes).timestamptz(row.at.getTime()).uuid(tag);
    }
    await copyBinaryInto(hub.deps.db, 'copy_check', ['id', 'name', 'score', 'doc', 'bytes', 'at', 'tag'], writer.finish());
    const stored = (await hub.deps.db.execute(sql`select id, name, score, doc, bytes, at, tag::text as tag from copy_check order by at desc`)) as unknown;
    const rows = (Array.isArray(stored) ? stored : (stored as { rows: unknown[] }).rows) as (Row & { tag: string })[];
    expect(rows.map((r) => ({ ...r, bytes: new Uint8Array(r.bytes), at: new Date(r.at) }))).toEqual(
      ROWS.map((row) => ({ ...row, id: row.id.toLowerCase(), tag: '11111111-2222-4333-8444-555555555555' })),
    );
  });

  it.skipIf(skip)("fails with the server's error, and leaves the connection usable", async () => {
    const writer = new BinaryCopyWriter().row(1).uuid(ROWS[0]!.id);
    // A row of one field for a COPY of two columns.
    const error = await copyBinaryInto(hub.deps.db, 'copy_check', ['id', 'name'], writer.finish()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: '22P04' }); // bad_copy_file_format
    const answered = (await hub.deps.db.execute(sql`select count(*)::int as n from copy_check`)) as unknown;
    expect((Array.isArray(answered) ? answered : (answered as { rows: unknown[] }).rows).length).toBe(1);
  });
});

it('refuses to write what is not a uuid', () => {
  expect(() => new BinaryCopyWriter().row(1).uuid('3f1c1e7e-8a53-4b1f-9f3e-2f4a1c0d9b7')).toThrow(/not a uuid/);
  expect(() => new BinaryCopyWriter().row(1).uuid('3f1c1e7e-8a53-4b1f-9f3e-2f4a1c0d9b7g')).toThrow(/not a uuid/);
  expect(() => new BinaryCopyWriter().row(1).uuid('not-a-uuid')).toThrow(/not a uuid/);
});
