import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestHub } from '../../test/test-hub';
import { ensureBootstrapAdmin } from '../auth/bootstrap';
import { loadEnv } from '../env';
import { openHub } from '../hub';
import type { Logger } from '../logger';

/** Every directory and file under `dir` (symbolic links skipped) with its permission bits. */
function modes(dir: string): { entry: string; mode: string }[] {
  const out = [{ entry: '.', mode: (fs.statSync(dir).mode & 0o777).toString(8) }];
  const walk = (current: string) => {
    for (const entry of fs.readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      if (entry.isSymbolicLink()) continue;
      out.push({ entry: path.relative(dir, full), mode: (fs.lstatSync(full).mode & 0o777).toString(8) });
      if (entry.isDirectory()) walk(full);
    }
  };
  walk(dir);
  return out;
}

function capturingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (message: string) => void lines.push(`${level} ${message}`);
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('the data directory is owner-only', () => {
  const umask = process.umask(0o022); // what a login shell usually has; the hub must not depend on it
  let tmp: string;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-private-'));
  });
  afterAll(() => {
    process.umask(umask);
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  afterEach(() => void process.umask(0o022));

  it('PGlite files, objects, keys and the admin token are 0600 in 0700 directories, and an old open data dir is tightened', async () => {
    const dataDir = path.join(tmp, 'data');
    // What an older hub left: a world-readable directory and files (PGlite asks for mode 666).
    fs.mkdirSync(path.join(dataDir, 'old'), { recursive: true, mode: 0o755 });
    fs.chmodSync(dataDir, 0o755);
    fs.writeFileSync(path.join(dataDir, 'old', 'leftover'), 'x', { mode: 0o666 });
    fs.chmodSync(path.join(dataDir, 'old', 'leftover'), 0o666);
    fs.writeFileSync(path.join(dataDir, 'admin-token'), 'revoked-secret\n', { mode: 0o644 });

    const log = capturingLogger();
    const hub = await openHub(loadEnv({ HUB_DATA_DIR: dataDir, LOG_LEVEL: 'silent' }), log);
    try {
      await hub.deps.keys.ready();
      await ensureBootstrapAdmin(hub.deps, dataDir);
      await hub.deps.store.put('cdn/a/b.json', new TextEncoder().encode('{}'), { contentType: 'application/json' });
    } finally {
      await hub.close();
    }

    const entries = modes(dataDir);
    expect(entries.map((e) => e.entry)).toEqual(expect.arrayContaining(['pgdata', 'keys', 'keys/keyring.json', 'admin-token', 'old/leftover']));
    expect(entries.some((e) => e.entry.startsWith('s3/'))).toBe(true);
    const open = entries.filter(({ entry, mode }) => mode !== (fs.lstatSync(path.join(dataDir, entry)).isDirectory() ? '700' : '600'));
    expect(open, 'entries other users can read or write').toEqual([]);
    expect(fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8')).not.toBe('revoked-secret\n');
    expect(log.lines.join('\n')).toMatch(/was readable by other users: made 3 files and directories owner-only/);
  });

  it('tightens an old data dir once, not at every start', async () => {
    const dataDir = path.join(tmp, 'again');
    fs.mkdirSync(dataDir, { recursive: true });
    const log = capturingLogger();
    await (await openHub(loadEnv({ HUB_DATA_DIR: dataDir, LOG_LEVEL: 'silent' }), log)).close();
    fs.chmodSync(dataDir, 0o755);
    await (await openHub(loadEnv({ HUB_DATA_DIR: dataDir, LOG_LEVEL: 'silent' }), log)).close();
    expect(fs.statSync(dataDir).mode & 0o777).toBe(0o700); // the top directory is checked at every start
    expect(log.lines.filter((l) => l.includes('owner-only'))).toEqual([]);
  });

  it('the first admin token replaces an old world-readable admin-token file with a 0600 one', async () => {
    const dataDir = path.join(tmp, 'token');
    fs.mkdirSync(dataDir);
    fs.writeFileSync(path.join(dataDir, 'admin-token'), 'an old, revoked secret\n', { mode: 0o644 });
    const hub = await createTestHub('pglite');
    try {
      await ensureBootstrapAdmin(hub.deps, dataDir);
    } finally {
      await hub.close();
    }
    expect(fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8')).not.toContain('revoked');
    expect(fs.statSync(path.join(dataDir, 'admin-token')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(dataDir).mode & 0o777).toBe(0o700);
  });

  it('a SIGNING_KEYS_DIR outside the data dir is made 0700 with 0600 key files', async () => {
    const dataDir = path.join(tmp, 'with-keys-elsewhere');
    const keysDir = path.join(tmp, 'secrets', 'edgeloop-keys');
    fs.mkdirSync(keysDir, { recursive: true, mode: 0o755 });
    fs.chmodSync(keysDir, 0o755);
    const hub = await openHub(loadEnv({ HUB_DATA_DIR: dataDir, SIGNING_KEYS_DIR: keysDir, LOG_LEVEL: 'silent' }), capturingLogger());
    try {
      const key = await hub.deps.keys.active();
      expect(hub.deps.keys.dir).toBe(keysDir);
      expect(fs.existsSync(path.join(dataDir, 'keys'))).toBe(false);
      expect(modes(keysDir)).toEqual(expect.arrayContaining([{ entry: '.', mode: '700' }, { entry: `${key.id}.pem`, mode: '600' }, { entry: 'keyring.json', mode: '600' }]));
    } finally {
      await hub.close();
    }
  });
});
