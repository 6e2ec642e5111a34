/**
 * The hub's signing keys, kept as owner-only files outside the database (in `<data dir>/keys/`, or
 * SIGNING_KEYS_DIR):
 *   keyring.json   which keys exist and their state: one `active` (signs), `trusted` (rotated out, still verifies
 *                  what it signed), `retired` (no longer published; its private key file is deleted)
 *   <keyId>.pem    the private key (PKCS#8), 0600, written once with O_EXCL
 * The ring file is replaced atomically (rename), under a lock in the database shared by every process (the CLI,
 * other hubs), and re-read when it changes, so a rotation made by the CLI reaches hub processes sharing the directory
 * without a restart. Every hub process that signs (publish, promote, rollback: the API) must use the same keys
 * directory; training workers never sign. The directory must be writable by the hub (a read-only mount is not
 * supported: the hub writes the ring and new keys there); a key file there may be a symbolic link.
 * The ring's public entries are mirrored in the database (signing_key_ring), so a process whose keys directory lacks
 * the active key (another machine, a fresh data dir, a wrong SIGNING_KEYS_DIR) refuses to start instead of forking.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Database } from '../db/database';
import { conflict, notFound } from '../errors';
import type { Logger } from '../logger';
import {
  PRIVATE_FILE_MODE,
  createPrivateFileAtomic,
  ensurePrivateDir,
  writePrivateFileAtomic,
  writePrivateFileExclusive,
} from '../storage/private-dir';
import * as keyRows from './key-ring.repository';
import * as models from './model-version.repository';
import { type SigningKey, keyIdOf, publicKeyFromRaw, rawPublicKey } from './signing';

export const KEY_STATES = ['active', 'trusted', 'retired'] as const;
export type KeyState = (typeof KEY_STATES)[number];

const ringEntrySchema = z.object({
  id: z.string().regex(/^[0-9a-f]{16}$/),
  /** Raw 32-byte Ed25519 public key, base64. */
  publicKey: z.string(),
  state: z.enum(KEY_STATES),
  createdAt: z.string(),
  retiredAt: z.string().optional(),
});
const ringSchema = z.object({ format: z.literal('edgeloop.keyring/v1'), keys: z.array(ringEntrySchema) }).refine(
  (ring) => ring.keys.length === 0 || ring.keys.filter((k) => k.state === 'active').length === 1,
  'a key ring has exactly one active key',
);
type Ring = z.infer<typeof ringSchema>;
type RingEntry = z.infer<typeof ringEntrySchema>;

export interface KeyInfo {
  id: string;
  state: KeyState;
  /** Raw 32-byte public key, base64. */
  publicKey: string;
  publicKeyPem: string;
  createdAt: string;
  retiredAt: string | null;
}

export interface KeyRing {
  readonly dir: string;
  /**
   * Moves keys left in the database by older hubs into files and makes the first key if there is none. Idempotent.
   * Refuses to make one when the database has published versions (their key is elsewhere or lost): see init.
   */
  ready(): Promise<void>;
  /** ready(); with `newKey`, makes a new key even though the database has published versions (`edgeloop key init --new`). */
  init(options: { newKey: boolean }): Promise<void>;
  /** The key that signs new manifests and pointers. */
  active(): Promise<SigningKey>;
  /** The keys devices should trust (active first, then the rotated-out ones not yet retired). */
  trusted(): Promise<KeyInfo[]>;
  /** Every key, retired ones included, newest first. */
  list(): Promise<KeyInfo[]>;
  /** Makes a new key the active one; the previous active key stays trusted. */
  rotate(): Promise<KeyInfo>;
  /** Stops trusting a rotated-out key and deletes its private key. The active key cannot be retired. */
  retire(keyId: string): Promise<KeyInfo>;
}

export const RING_FILE = 'keyring.json';
/** Every change of a ring file is made holding the ring lock (keyRows.inRingLock), on the ring as it is then. */
const privateKeyFile = (dir: string, id: string) => path.join(dir, `${id}.pem`);

export function openKeyRing(options: { dir: string; db: Database; log: Logger; now?: () => Date }): KeyRing {
  const { dir, db, log } = options;
  const now = options.now ?? (() => new Date());
  const ringPath = path.join(dir, RING_FILE);
  let readiness: Promise<void> | undefined;
  let cachedRing: { stamp: string; ring: Ring } | undefined;
  const privateKeys = new Map<string, crypto.KeyObject>();

  /** The ring as on disk now; re-parsed only when the file changed (a rename gives it a new inode). */
  function readRing(): Ring | null {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(ringPath);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    const stamp = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
    if (cachedRing?.stamp === stamp) return cachedRing.ring;
    let parsed;
    try {
      parsed = ringSchema.safeParse(JSON.parse(fs.readFileSync(ringPath, 'utf8')));
    } catch (error) {
      throw new Error(`${ringPath} is not valid JSON (${(error as Error).message}); restore it from a backup`);
    }
    if (!parsed.success) throw new Error(`${ringPath} is not a valid key ring: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'ring'}: ${i.message}`).join('; ')}`);
    cachedRing = { stamp, ring: parsed.data };
    return parsed.data;
  }

  function requireRing(): Ring {
    const ring = readRing();
    if (!ring || ring.keys.length === 0) throw new Error(`no signing key in ${dir}: the hub makes one at start (edgeloop serve)`);
    return ring;
  }

  function info(entry: RingEntry): KeyInfo {
    return {
      id: entry.id,
      state: entry.state,
      publicKey: entry.publicKey,
      publicKeyPem: publicKeyFromRaw(entry.publicKey).export({ type: 'spki', format: 'pem' }).toString(),
      createdAt: entry.createdAt,
      retiredAt: entry.retiredAt ?? null,
    };
  }

  /** Writes a private key file (O_EXCL). A file already there must hold the same key. Returns its ring entry. */
  function storePrivateKey(privateKey: crypto.KeyObject, state: KeyState, createdAt: Date): RingEntry {
    const publicKey = crypto.createPublicKey(privateKey);
    const id = keyIdOf(publicKey);
    const file = privateKeyFile(dir, id);
    try {
      writePrivateFileExclusive(file, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (keyIdOf(crypto.createPublicKey(loadPrivateKey(id))) !== id) throw new Error(`${file} holds another key than its name says`);
    }
    return { id, publicKey: rawPublicKey(publicKey).toString('base64'), state, createdAt: createdAt.toISOString() };
  }

  function loadPrivateKey(id: string): crypto.KeyObject {
    const cached = privateKeys.get(id);
    if (cached) return cached;
    const file = privateKeyFile(dir, id);
    let pem: string;
    try {
      pem = fs.readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`the private key of signing key ${id} is missing: ${file}`);
      throw error;
    }
    const key = crypto.createPrivateKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${file} is not an Ed25519 private key`);
    privateKeys.set(id, key);
    return key;
  }

  /** Key files an operator copied in with loose modes: made owner-only, and said so. */
  function checkFileModes(): void {
    for (const name of fs.readdirSync(dir)) {
      if (!name.endsWith('.pem') && name !== RING_FILE) continue;
      const file = path.join(dir, name);
      if (fs.lstatSync(file).isSymbolicLink()) {
        // chmod would follow the link and change (or, on a read-only secret mount, fail on) the file it points to.
        const target = fs.statSync(file).mode & 0o777;
        if (target & 0o077) log.warn(`${file} is a link to a file with mode ${target.toString(8)}: make that file owner-only (600) where it is provisioned`);
        continue;
      }
      const mode = fs.lstatSync(file).mode & 0o777;
      if (mode === PRIVATE_FILE_MODE) continue;
      try {
        fs.chmodSync(file, PRIVATE_FILE_MODE);
        log.warn(`${file} had mode ${mode.toString(8)}: made it 600 (owner-only)`);
      } catch (error) {
        log.warn(`${file} has mode ${mode.toString(8)} and could not be made 600: ${(error as Error).message}`);
      }
    }
  }

  /**
   * Older hubs kept the key in the signing_keys table. Each row becomes a key file (the oldest stays the active key,
   * so everything signed before still verifies) and is deleted. The rows stay locked until the files are written,
   * so two hubs starting at once migrate them once.
   */
  async function migrateLegacyRows(): Promise<void> {
    const moved = await keyRows.takeLegacyKeys(db, (rows) => {
      cachedRing = undefined;
      const ring: Ring = readRing() ?? { format: 'edgeloop.keyring/v1', keys: [] };
      const hasActive = ring.keys.some((k) => k.state === 'active');
      rows.forEach((row, i) => {
        if (ring.keys.some((k) => k.id === row.id)) return;
        const entry = storePrivateKey(crypto.createPrivateKey(row.privateKeyPem), !hasActive && i === 0 ? 'active' : 'trusted', row.createdAt);
        if (entry.id !== row.id) throw new Error(`signing key row ${row.id} holds the key ${entry.id}; not migrating it`);
        ring.keys.push(entry);
        // Whoever could read the database could read this key and sign models with it: it must be rotated out.
        log.warn(
          `moved signing key ${row.id} out of the database to ${privateKeyFile(dir, row.id)} (${entry.state}); anyone who could read the database ` +
            'could read it: run `edgeloop key rotate`, then `edgeloop key retire` it once no channel points at a version it signed',
        );
      });
      writePrivateFileAtomic(ringPath, `${JSON.stringify(ring, null, 2)}\n`);
    });
    if (moved === 0) return;
    try {
      // Rewrites the table so the deleted rows' bytes leave its data file (WAL and backups may still hold them:
      // rotate the key if other users could read the database before).
      await keyRows.vacuumLegacyKeys(db);
    } catch (error) {
      log.warn(`could not vacuum signing_keys after moving its keys out: ${(error as Error).message}`);
    }
  }

  /** A key ring for a directory with no ring yet: the one key file an operator provisioned, or a new key. */
  async function createFirstKey(allowNewKey: boolean): Promise<void> {
    const provisioned = fs.readdirSync(dir).filter((name) => /^[^.].*\.pem$/.test(name));
    if (provisioned.length > 1) throw new Error(`${dir} holds ${provisioned.length} key files but no ${RING_FILE}: restore the ring file, or keep the one key to use`);
    let entry: RingEntry;
    let generated = false;
    if (provisioned.length === 1) {
      const file = path.join(dir, provisioned[0]!);
      const privateKey = crypto.createPrivateKey(fs.readFileSync(file, 'utf8'));
      if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${file} is not an Ed25519 private key`);
      entry = storePrivateKey(privateKey, 'active', now());
      if (file !== privateKeyFile(dir, entry.id)) fs.rmSync(file);
      log.info(`signing key ${entry.id}: adopted ${file}`);
    } else {
      // Published versions were signed with a key: a new one here would fork the ring and devices would refuse everything.
      if ((await models.hasPublishedVersions(db)) && !allowNewKey) {
        throw new Error(
          `the database has published model versions, but the keys directory ${dir} holds no signing key: set SIGNING_KEYS_DIR to the ` +
            'keys directory the other hub processes use (or restore it from a backup). Only if that key is lost, run `edgeloop key init --new` ' +
            '(devices will then refuse the versions signed with the old key until versions signed with the new one are promoted).',
        );
      }
      entry = storePrivateKey(crypto.generateKeyPairSync('ed25519').privateKey, 'active', now());
      generated = true;
    }
    if (!createPrivateFileAtomic(ringPath, `${JSON.stringify({ format: 'edgeloop.keyring/v1', keys: [entry] }, null, 2)}\n`)) {
      // Another hub sharing the directory made its ring first: use that one.
      if (generated) fs.rmSync(privateKeyFile(dir, entry.id), { force: true });
      return;
    }
    log.info(`signing key ${entry.id} created in ${dir}`);
  }

  /** Replaces the database's copy of the ring's public entries with the ring as on disk now (holding the ring lock). */
  async function recordRing(tx: Database): Promise<void> {
    cachedRing = undefined;
    const ring = requireRing();
    await keyRows.replaceRing(
      tx,
      ring.keys.map((k) => ({ id: k.id, publicKey: k.publicKey, state: k.state, createdAt: new Date(k.createdAt), retiredAt: k.retiredAt ? new Date(k.retiredAt) : null })),
    );
  }

  /**
   * When the database knows the ring, this directory must hold its active key (public key and private key file):
   * otherwise this process would make or use another key, and devices would refuse what it signs. Checked before
   * anything is written here. Returns whether the database knows a ring.
   */
  async function checkAgainstDatabase(allowNewKey: boolean): Promise<boolean> {
    const known = await keyRows.listRing(db);
    const active = known.find((k) => k.state === 'active');
    if (!active || allowNewKey) return known.length > 0;
    const ring = readRing();
    const here = ring?.keys.find((k) => k.id === active.id);
    if (here?.state === 'active' && here.publicKey === active.publicKey && fs.existsSync(privateKeyFile(dir, active.id))) return true;
    throw new Error(
      `the database's active signing key is ${active.id}, but the keys directory ${dir} ${here ? 'lacks its private key file' : 'does not hold it'}: set ` +
        'SIGNING_KEYS_DIR to the keys directory the other hub processes use (or restore it from a backup). Only if that key is lost, run ' +
        '`edgeloop key init --new` (devices will then refuse the versions signed with the old key until versions signed with the new one are promoted).',
    );
  }

  async function prepare(allowNewKey: boolean): Promise<void> {
    try {
      ensurePrivateDir(dir);
      fs.accessSync(dir, fs.constants.W_OK);
    } catch (error) {
      throw new Error(
        `the keys directory ${dir} must be a directory the hub can write and make owner-only (${(error as Error).message}): ` +
          `it writes ${RING_FILE} and new keys there. For keys provisioned on a read-only mount, copy them into a writable directory and set SIGNING_KEYS_DIR to it`,
      );
    }
    const knownToDatabase = await checkAgainstDatabase(allowNewKey);
    checkFileModes();
    await migrateLegacyRows();
    if (!readRing()?.keys.length) await createFirstKey(allowNewKey);
    const active = requireRing().keys.find((k) => k.state === 'active')!;
    loadPrivateKey(active.id);
    // A ring made before the database kept its entries, a new one, or one an operator chose over the database's.
    if (!knownToDatabase || allowNewKey) {
      await keyRows.inRingLock(db, (tx) => recordRing(tx));
    }
  }

  const ready = (allowNewKey = false) => {
    readiness ??= prepare(allowNewKey).catch((error: unknown) => {
      readiness = undefined;
      throw error;
    });
    return readiness;
  };

  function writeRing(ring: Ring): void {
    writePrivateFileAtomic(ringPath, `${JSON.stringify(ring, null, 2)}\n`);
  }

  /** Changes the ring holding the lock, on the ring as it is now (another process may have changed it since it was read). */
  async function changeRing<T>(change: (ring: Ring) => T): Promise<T> {
    await ready();
    return keyRows.inRingLock(db, async (tx) => {
      cachedRing = undefined;
      const result = change(requireRing());
      await recordRing(tx);
      return result;
    });
  }

  return {
    dir,
    ready: () => ready(),
    init: ({ newKey }) => ready(newKey),
    async active() {
      await ready();
      const entry = requireRing().keys.find((k) => k.state === 'active')!;
      const privateKey = loadPrivateKey(entry.id);
      const publicKey = crypto.createPublicKey(privateKey);
      if (rawPublicKey(publicKey).toString('base64') !== entry.publicKey) throw new Error(`${privateKeyFile(dir, entry.id)} does not hold the public key ${RING_FILE} names for ${entry.id}`);
      return { id: entry.id, privateKey, publicKey, publicKeyRaw: entry.publicKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
    },
    async trusted() {
      await ready();
      const keys = requireRing().keys.filter((k) => k.state !== 'retired');
      return [...keys.filter((k) => k.state === 'active'), ...keys.filter((k) => k.state === 'trusted').reverse()].map(info);
    },
    async list() {
      await ready();
      return [...requireRing().keys].reverse().map(info);
    },
    async rotate() {
      const entry = await changeRing((ring) => {
        const created = storePrivateKey(crypto.generateKeyPairSync('ed25519').privateKey, 'active', now());
        writeRing({ ...ring, keys: [...ring.keys.map((k) => (k.state === 'active' ? { ...k, state: 'trusted' as const } : k)), created] });
        return created;
      });
      log.info(`signing key ${entry.id} is now active; the previous key stays trusted until retired`);
      return info(entry);
    },
    async retire(keyId) {
      const { retired, changed } = await changeRing((ring) => {
        const entry = ring.keys.find((k) => k.id === keyId);
        if (!entry) throw notFound(`no signing key "${keyId}"; the keys are: ${ring.keys.map((k) => `${k.id} (${k.state})`).join(', ')}`);
        if (entry.state === 'active') throw conflict(`key ${keyId} is the active signing key: rotate first (edgeloop key rotate), then retire it`);
        if (entry.state === 'retired') return { retired: entry, changed: false };
        const retired = { ...entry, state: 'retired' as const, retiredAt: now().toISOString() };
        writeRing({ ...ring, keys: ring.keys.map((k) => (k.id === keyId ? retired : k)) });
        // A retired key must never sign again: its private key is no longer needed.
        fs.rmSync(privateKeyFile(dir, keyId), { force: true });
        return { retired, changed: true };
      });
      privateKeys.delete(keyId);
      if (changed) log.info(`signing key ${keyId} retired: no longer published as trusted, private key deleted`);
      return info(retired);
    },
  };
}
