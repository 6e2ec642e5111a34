import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataDirLockedError, lockDataDir } from './data-dir-lock';
import { openPglite } from './database';

describe('data directory lock', () => {
  it('refuses a second opener while the first holds the directory, and frees it on close', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-lock-'));
    const first = await openPglite(dir);
    // Another process holding the lock looks like this: a live pid in the lock file.
    fs.writeFileSync(path.join(dir, 'hub.lock'), String(process.ppid));
    await expect(openPglite(dir)).rejects.toThrow(/the embedded database in .* is in use by process \d+/);
    fs.writeFileSync(path.join(dir, 'hub.lock'), String(process.pid));
    await first.close();
    expect(fs.existsSync(path.join(dir, 'hub.lock'))).toBe(false);
    const reopened = await openPglite(dir);
    await reopened.close();
  });

  it('takes over a lock left by a process that died', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-lock-'));
    fs.writeFileSync(path.join(dir, 'hub.lock'), '999999999');
    const unlock = lockDataDir(dir);
    expect(fs.readFileSync(path.join(dir, 'hub.lock'), 'utf8')).toBe(String(process.pid));
    unlock();
  });

  it('names the holder in its error', () => {
    expect(new DataDirLockedError('/data', 42).message).toMatch(/in use by process 42.*DATABASE_URL/);
  });
});
