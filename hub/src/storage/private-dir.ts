/**
 * Owner-only files: the data directory (database, objects, tokens) and the signing keys must not be readable by
 * other local users. The hub sets a restrictive umask before it creates anything, tightens directories that an
 * older hub (or the embedded PGlite, which asks for mode 666) left open, and writes secrets atomically.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';
import type { Logger } from '../logger';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Files and directories made by this process from now on are owner-only (PGlite creates its files with 666). */
export function restrictUmask(): void {
  // The umask is per process; worker threads share it and may not set it.
  if (isMainThread) process.umask(0o077);
}

/** Creates `dir` (and parents) owner-only, and makes an existing one owner-only. */
export function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  if ((fs.statSync(dir).mode & 0o777) !== PRIVATE_DIR_MODE) fs.chmodSync(dir, PRIVATE_DIR_MODE);
}

/** Marks a tree as already tightened, so the walk over a large object store runs once, not at every start. */
const TIGHTENED_MARKER = '.owner-only';

/**
 * Makes `dir` 0700 and, once per tree, every directory under it 0700 and every file 0600 (symbolic links are left
 * alone, never followed). Logs what it changed and what it could not change (a file owned by another user).
 */
export function tightenPrivateTree(dir: string, log: Logger): { fixed: number; failed: number } {
  ensurePrivateDir(dir);
  const marker = path.join(dir, TIGHTENED_MARKER);
  if (fs.existsSync(marker)) return { fixed: 0, failed: 0 };
  const { fixed, failed } = makeTreeOwnerOnly(dir, (entry, error) => log.warn(`could not make ${entry} owner-only: ${error.message}`));
  if (fixed > 0) log.warn(`${dir} was readable by other users: made ${fixed} files and directories owner-only (0700/0600)`);
  if (failed === 0) writePrivateFileAtomic(marker, 'files under this directory were made owner-only (0700/0600) once\n');
  return { fixed, failed };
}

/**
 * Every directory under `dir` 0700 and every file 0600, without following symbolic links. The embedded PGlite
 * unpacks a new database with the modes of its bundled image (666), whatever the umask: this runs after it.
 */
export function makeTreeOwnerOnly(dir: string, onError: (entry: string, error: Error) => void = () => {}): { fixed: number; failed: number } {
  let fixed = 0;
  let failed = 0;
  const fix = (entry: string, mode: number) => {
    try {
      if ((fs.lstatSync(entry).mode & 0o777) === mode) return;
      fs.chmodSync(entry, mode);
      fixed++;
    } catch (error) {
      failed++;
      onError(entry, error as Error);
    }
  };
  const walk = (current: string) => {
    for (const entry of fs.readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) {
        fix(full, PRIVATE_DIR_MODE);
        walk(full);
      } else if (entry.isFile()) {
        fix(full, PRIVATE_FILE_MODE);
      }
    }
  };
  fix(dir, PRIVATE_DIR_MODE);
  walk(dir);
  return { fixed, failed };
}

/** Writes a new file that must not exist yet (O_EXCL), owner-only. Throws EEXIST if it does. */
export function writePrivateFileExclusive(file: string, data: string): void {
  fs.writeFileSync(file, data, { flag: 'wx', mode: PRIVATE_FILE_MODE });
}

/** Replaces `file` atomically (a temporary file, then rename), owner-only whatever the old file's mode was. */
export function writePrivateFileAtomic(file: string, data: string): void {
  const tmp = temporaryName(file);
  try {
    writePrivateFileExclusive(tmp, data);
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * Creates `file` atomically with `data` unless it exists (a hard link of a complete temporary file, so a reader
 * never sees it half written). Returns false when another process created it first.
 */
export function createPrivateFileAtomic(file: string, data: string): boolean {
  const tmp = temporaryName(file);
  try {
    writePrivateFileExclusive(tmp, data);
    fs.linkSync(tmp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

const temporaryName = (file: string) => path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`);
