import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DATABASES, type TestHub, createTestHub } from '../../test/test-hub';
import { withAdvisoryLock } from '../db/advisory-lock';
import { signingKeyRing, signingKeys } from '../db/schema';
import { createLogger } from '../logger';
import { type KeyInfo, RING_FILE, openKeyRing } from './key-ring';
import { RING_LOCK_KEY } from './key-ring.repository';
import { keyIdOf, rawPublicKey, signPayload, verifyEnvelope } from './signing';

/** A key row as hubs before this release stored it (and the envelope such a hub signed with it). */
function legacyKey(createdAt: Date) {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  const id = keyIdOf(publicKey);
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const row = { id, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), privateKeyPem, createdAt };
  const signed = signPayload({ id, privateKey, publicKey, publicKeyRaw: '', publicKeyPem: row.publicKeyPem }, JSON.stringify({ format: 'edgeloop.model/v1', version: 1 }));
  // The base64 body of the PEM: what would show up if the key were stored anywhere in text.
  const secret = privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64');
  return { id, row, signed, secret };
}

/** drizzle's execute answers { rows } on PGlite and an array on postgres-js. */
const rowsOf = <T>(result: unknown): T[] => ((result as { rows?: T[] }).rows ?? (result as T[]));

/** Rows of every text and JSON column in the database (all schemas) that contain `needle`. */
async function rowsContaining(hub: TestHub, needle: string): Promise<string[]> {
  const result = await hub.deps.db.execute(
    sql`select table_schema, table_name, column_name from information_schema.columns
        where table_schema not in ('pg_catalog', 'information_schema') and data_type in ('text', 'character varying', 'json', 'jsonb')`,
  );
  const columns = rowsOf<{ table_schema: string; table_name: string; column_name: string }>(result);
  expect(columns.length).toBeGreaterThan(20);
  const found: string[] = [];
  for (const c of columns) {
    const counted = await hub.deps.db.execute(
      sql`select count(*)::int as n from ${sql.identifier(c.table_schema)}.${sql.identifier(c.table_name)} where position(${needle} in ${sql.identifier(c.column_name)}::text) > 0`,
    );
    const [{ n }] = rowsOf<{ n: number }>(counted) as [{ n: number }];
    if (n > 0) found.push(`${c.table_schema}.${c.table_name}.${c.column_name}`);
  }
  return found;
}

const modeOf = (file: string) => (fs.statSync(file).mode & 0o777).toString(8);

describe.each(DATABASES)('signing keys outside the database, $kind', ({ kind, skip }) => {
  let hub: TestHub;
  beforeEach(async () => {
    if (!skip) hub = await createTestHub(kind);
  });
  afterEach(() => hub?.close());

  it.skipIf(skip)('moves keys an older hub left in signing_keys into 0600 files, empties the table, and what they signed still verifies', async () => {
    // The data directory of an older hub: no keys directory, the keys in the table (and no ring entries).
    fs.rmSync(hub.deps.keys.dir, { recursive: true });
    await hub.deps.db.delete(signingKeyRing);
    const older = legacyKey(new Date('2026-01-01T00:00:00Z'));
    const newer = legacyKey(new Date('2026-02-01T00:00:00Z'));
    await hub.deps.db.insert(signingKeys).values([newer.row, older.row]);
    expect(await rowsContaining(hub, older.secret)).toEqual(['public.signing_keys.private_key_pem']);

    // The hub's start, with its log: the same keys directory as hub.deps.keys.
    const lines: string[] = [];
    const at = (level: string) => (message: string) => void lines.push(`${level} ${message}`);
    await openKeyRing({ dir: hub.deps.keys.dir, db: hub.deps.db, log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } }).ready();
    // Anyone who could read the database could read these keys: the move is a warning that says to rotate.
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^warn moved signing key ${older.id} out of the database.*edgeloop key rotate`)),
      expect.stringMatching(new RegExp(`^warn moved signing key ${newer.id} out of the database.*edgeloop key rotate`)),
    ]);

    expect(await hub.deps.db.select().from(signingKeys)).toEqual([]);
    const dir = hub.deps.keys.dir;
    expect(modeOf(dir)).toBe('700');
    for (const id of [older.id, newer.id]) expect(modeOf(path.join(dir, `${id}.pem`))).toBe('600');
    expect(modeOf(path.join(dir, RING_FILE))).toBe('600');
    // The oldest key signed what devices have: it stays the active key, the other stays trusted.
    const published = await hub.anonymous().registry.publicKeys();
    expect(published.activeKeyId).toBe(older.id);
    expect(published.keys.map((k) => [k.keyId, k.active])).toEqual([
      [older.id, true],
      [newer.id, false],
    ]);
    for (const { signed } of [older, newer]) {
      const key = published.keys.find((k) => k.keyId === signed.keyId)!;
      expect(verifyEnvelope(key.publicKey, signed)).toBe(true);
    }
    expect((await hub.anonymous().registry.publicKey()).keyId).toBe(older.id);
    expect((await hub.deps.keys.active()).id).toBe(older.id);

    expect(await rowsContaining(hub, older.secret)).toEqual([]);
    expect(await rowsContaining(hub, newer.secret)).toEqual([]);
    expect(await rowsContaining(hub, 'PRIVATE KEY')).toEqual([]);
  });

  it.skipIf(skip)('a fresh hub makes its key as a file and never writes a private key to the database', async () => {
    const key = await hub.deps.keys.active();
    const secret = key.privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64');
    expect(fs.readFileSync(path.join(hub.deps.keys.dir, `${key.id}.pem`), 'utf8')).toContain(secret.slice(0, 40));
    await hub.deps.keys.rotate();
    expect(await hub.deps.db.select().from(signingKeys)).toEqual([]);
    expect(await rowsContaining(hub, secret)).toEqual([]);
    expect(await rowsContaining(hub, 'PRIVATE KEY')).toEqual([]);
  });

  it.skipIf(skip)('a rotation waits while another process changes the ring, and keeps the key that process added', async () => {
    const first = await hub.deps.keys.active();
    const dir = hub.deps.keys.dir;
    const other = crypto.generateKeyPairSync('ed25519');
    const otherId = keyIdOf(other.publicKey);
    let rotation: Promise<KeyInfo> | undefined;
    // Another process (the CLI) holds the ring's lock: it reads the ring, makes a key, and writes the ring back later.
    await withAdvisoryLock(hub.deps.db, RING_LOCK_KEY, async () => {
      const ring = JSON.parse(fs.readFileSync(path.join(dir, RING_FILE), 'utf8')) as { keys: { state: string }[] };
      rotation = hub.deps.keys.rotate();
      await new Promise((resolve) => setTimeout(resolve, 300));
      fs.writeFileSync(path.join(dir, `${otherId}.pem`), other.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
      const keys = [...ring.keys.map((k) => ({ ...k, state: 'trusted' })), { id: otherId, publicKey: rawPublicKey(other.publicKey).toString('base64'), state: 'active', createdAt: new Date().toISOString() }];
      fs.writeFileSync(path.join(dir, 'ring.tmp'), JSON.stringify({ ...ring, keys }));
      fs.renameSync(path.join(dir, 'ring.tmp'), path.join(dir, RING_FILE));
    });
    const rotated = await rotation!;
    expect((await hub.deps.keys.list()).map((k) => [k.id, k.state])).toEqual([
      [rotated.id, 'active'],
      [otherId, 'trusted'],
      [first.id, 'trusted'],
    ]);
  });
});

describe('the key ring', () => {
  let hub: TestHub;
  beforeEach(async () => {
    hub = await createTestHub('pglite');
  });
  afterEach(() => hub?.close());

  it('rotate makes a new active key and keeps the old one published; retire stops publishing it and deletes its private key', async () => {
    const first = await hub.deps.keys.active();
    const signedBefore = signPayload(first, '{"version":1}');
    const second = await hub.deps.keys.rotate();
    expect((await hub.deps.keys.active()).id).toBe(second.id);

    let published = await hub.anonymous().registry.publicKeys();
    expect(published.activeKeyId).toBe(second.id);
    expect(published.keys.map((k) => k.keyId)).toEqual([second.id, first.id]);
    expect(verifyEnvelope(published.keys.find((k) => k.keyId === signedBefore.keyId)!.publicKey, signedBefore)).toBe(true);

    await expect(hub.deps.keys.retire(second.id)).rejects.toThrow(`key ${second.id} is the active signing key: rotate first`);
    await expect(hub.deps.keys.retire('0123456789abcdef')).rejects.toThrow(/no signing key "0123456789abcdef"; the keys are: .*\(active\)/);

    const retired = await hub.deps.keys.retire(first.id);
    expect(retired).toMatchObject({ id: first.id, state: 'retired' });
    published = await hub.anonymous().registry.publicKeys();
    expect(published.keys.map((k) => k.keyId)).toEqual([second.id]);
    expect(fs.existsSync(path.join(hub.deps.keys.dir, `${first.id}.pem`))).toBe(false);
    expect((await hub.deps.keys.list()).map((k) => [k.id, k.state])).toEqual([
      [second.id, 'active'],
      [first.id, 'retired'],
    ]);
  });

  it('a rotation made by another process (the CLI) reaches a running hub sharing the keys directory', async () => {
    const running = await hub.deps.keys.active();
    const cli = openKeyRing({ dir: hub.deps.keys.dir, db: hub.deps.db, log: createLogger('silent') });
    const rotated = await cli.rotate();
    expect(rotated.id).not.toBe(running.id);
    expect((await hub.deps.keys.active()).id).toBe(rotated.id);
    expect((await hub.anonymous().registry.publicKeys()).keys.map((k) => k.keyId)).toEqual([rotated.id, running.id]);
  });

  it('adopts one Ed25519 key file an operator put in an empty keys directory, and makes it owner-only', async () => {
    const dir = path.join(path.dirname(hub.deps.keys.dir), 'provisioned');
    fs.mkdirSync(dir, { mode: 0o755 });
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
    fs.writeFileSync(path.join(dir, 'signing.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o644 });
    fs.chmodSync(path.join(dir, 'signing.pem'), 0o644);
    await hub.deps.db.delete(signingKeyRing); // the first hub of this database
    const ring = openKeyRing({ dir, db: hub.deps.db, log: createLogger('silent') });
    const key = await ring.active();
    expect(key.id).toBe(keyIdOf(publicKey));
    expect(fs.readdirSync(dir).sort()).toEqual([`${key.id}.pem`, RING_FILE]);
    expect(modeOf(dir)).toBe('700');
    expect(modeOf(path.join(dir, `${key.id}.pem`))).toBe('600');
  });

  it('leaves a key file provisioned as a symbolic link (a Kubernetes secret) and the file it points to as they were', async () => {
    const base = path.dirname(hub.deps.keys.dir);
    const secret = path.join(base, 'secret', 'signing.pem');
    fs.mkdirSync(path.dirname(secret));
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
    fs.writeFileSync(secret, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    fs.chmodSync(secret, 0o644);
    const dir = path.join(base, 'linked');
    fs.mkdirSync(dir, { mode: 0o700 });
    fs.symlinkSync(secret, path.join(dir, 'signing.pem'));
    await hub.deps.db.delete(signingKeyRing); // the first hub of this database
    const lines: string[] = [];
    const at = (level: string) => (message: string) => void lines.push(`${level} ${message}`);
    const ring = openKeyRing({ dir, db: hub.deps.db, log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } });
    expect((await ring.active()).id).toBe(keyIdOf(publicKey));
    // chmod follows links: it would have changed the operator's file (or failed on a read-only mount).
    expect(modeOf(secret)).toBe('644');
    expect(lines).toContainEqual(expect.stringMatching(/^warn .*signing\.pem is a link to a file with mode 644/));
  });

  it('a keys directory without the active key of the ring the database knows is refused, naming SIGNING_KEYS_DIR, and nothing is written', async () => {
    const first = await hub.deps.keys.active();
    const rotated = await hub.deps.keys.rotate();
    // The database holds the ring's public entries, never a private key.
    expect((await hub.deps.db.select().from(signingKeyRing)).map((k) => [k.id, k.state, k.publicKey]).sort()).toEqual(
      [
        [first.id, 'trusted', first.publicKeyRaw],
        [rotated.id, 'active', rotated.publicKey],
      ].sort(),
    );
    const elsewhere = path.join(path.dirname(hub.deps.keys.dir), 'elsewhere');
    const refusal = new RegExp(`active signing key is ${rotated.id}.*does not hold it.*SIGNING_KEYS_DIR.*edgeloop key init --new`, 's');
    await expect(openKeyRing({ dir: elsewhere, db: hub.deps.db, log: createLogger('silent') }).ready()).rejects.toThrow(refusal);
    expect(fs.readdirSync(elsewhere)).toEqual([]);

    // A copy of the directory that lacks the active key's private key file.
    const copy = path.join(path.dirname(hub.deps.keys.dir), 'copy');
    fs.cpSync(hub.deps.keys.dir, copy, { recursive: true });
    fs.rmSync(path.join(copy, `${rotated.id}.pem`));
    await expect(openKeyRing({ dir: copy, db: hub.deps.db, log: createLogger('silent') }).ready()).rejects.toThrow(/lacks its private key file.*SIGNING_KEYS_DIR/s);
    expect(fs.readdirSync(copy).sort()).toEqual([`${first.id}.pem`, RING_FILE]);
  });

  it('names the ring file when it is damaged instead of making a new key', async () => {
    await hub.deps.keys.ready();
    fs.writeFileSync(path.join(hub.deps.keys.dir, RING_FILE), '{"format":"edgeloop.keyring/v1","keys":[{"id":"x"}]}');
    await expect(hub.deps.keys.active()).rejects.toThrow(new RegExp(`${RING_FILE} is not a valid key ring: keys\\.0\\.id`));
  });
});
