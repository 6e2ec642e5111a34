/**
 * Migration 0007 turns stored real[] embeddings into float32 little-endian bytes with SQL: a database left at 0006
 * with predictions in it must read back the same float32 values through embeddingFromBytes after migrating.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { embeddingFromBytes } from '@edgeloop/shared';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { DATABASES } from '../../test/test-hub';

const migrationsFolder = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../drizzle');
const BEFORE = '0006_signing_key_ring';

/** A copy of the migrations folder whose journal ends at `lastTag`: what a hub of that release shipped. */
function migrationsUpTo(lastTag: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-migrations-'));
  fs.cpSync(migrationsFolder, dir, { recursive: true });
  const journalPath = path.join(dir, 'meta/_journal.json');
  const journal = JSON.parse(fs.readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] };
  const last = journal.entries.findIndex((entry) => entry.tag === lastTag);
  if (last < 0) throw new Error(`no migration ${lastTag}`);
  journal.entries = journal.entries.slice(0, last + 1);
  fs.writeFileSync(journalPath, JSON.stringify(journal));
  return dir;
}

/** Embeddings as a 0006 hub stored them (real[]), and what each must read back as: the float32 of every value. */
const STORED: number[][] = [
  [1.5, -2, 0.1],
  [3.4028234663852886e38, -1e-40, 0, -0, 123456.789],
  [],
];

interface Migrating {
  /** Runs SQL on the one session of the database (so `set` applies to the statements that follow). */
  run(query: ReturnType<typeof sql>): Promise<Record<string, unknown>[]>;
  migrate(folder: string): Promise<void>;
  close(): Promise<void>;
}

async function openMigrating(kind: 'pglite' | 'postgres'): Promise<Migrating> {
  if (kind === 'pglite') {
    const client = await PGlite.create();
    const db = drizzlePglite({ client });
    return {
      run: async (query) => (await db.execute(query)).rows as Record<string, unknown>[],
      migrate: (folder) => migratePglite(db, { migrationsFolder: folder }),
      close: () => client.close(),
    };
  }
  const adminUrl = inject('postgresUrl')!;
  const name = `edgeloop_migration_${crypto.randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const client = postgres(adminUrl.replace(/\/postgres$/, `/${name}`), { max: 1, onnotice: () => {} });
  const db = drizzlePostgres({ client });
  return {
    run: async (query) => [...(await db.execute(query))] as Record<string, unknown>[],
    migrate: (folder) => migratePostgres(db, { migrationsFolder: folder }),
    async close() {
      await client.end({ timeout: 5 });
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

describe.each(DATABASES)('migration 0007 on $kind', ({ kind, skip }) => {
  const folders: string[] = [];
  afterAll(() => folders.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

  it.skipIf(skip)('reads real[] embeddings stored before it as the same float32 values, byte for byte little-endian', async () => {
    const database = await openMigrating(kind);
    try {
      const old = migrationsUpTo(BEFORE);
      folders.push(old);
      await database.migrate(old);
      const ids = STORED.map(() => crypto.randomUUID());
      // The rows a 0006 hub wrote; the project and model version they point to do not matter here, so the foreign
      // keys are not checked for these inserts.
      await database.run(sql`set session_replication_role = replica`);
      for (const [i, embedding] of STORED.entries()) {
        const literal = `{${embedding.map((v) => (Object.is(v, -0) ? '-0' : String(v))).join(',')}}`;
        await database.run(sql`
          insert into predictions (id, project_id, model_version_id, label, confidence, top_k, embedding, backend, latency_ms, source, sent_by, created_at)
          values (${ids[i]}, ${crypto.randomUUID()}, ${crypto.randomUUID()}, 'cat', 0.9, '[{"label":"cat","probability":0.9}]'::jsonb,
                  ${literal}::real[], 'wasm', 1, 'file', 'old-device', now())`);
      }
      await database.run(sql`set session_replication_role = origin`);

      await database.migrate(migrationsFolder);
      const rows = await database.run(sql`select id, embedding, channel, device_id, app_version from predictions`);
      expect(rows).toHaveLength(STORED.length);
      for (const [i, embedding] of STORED.entries()) {
        const row = rows.find((r) => r.id === ids[i])!;
        const bytes = row.embedding as Uint8Array;
        expect(bytes.length).toBe(embedding.length * 4);
        expect([...embeddingFromBytes(bytes)]).toEqual(embedding.map(Math.fround));
        expect(row).toMatchObject({ channel: 'production', device_id: null, app_version: null });
      }
      // Little-endian on the wire, whatever the host: 1.5 is 0x3fc00000.
      const first = rows.find((r) => r.id === ids[0])!.embedding as Uint8Array;
      expect([...first.subarray(0, 4)]).toEqual([0x00, 0x00, 0xc0, 0x3f]);
    } finally {
      await database.close();
    }
  });
});
