/**
 * The object store as a directory and back (`edgeloop objects export|import`): the bytes and the headers the hub
 * stored each object with (the CDN route passes Content-Type and Cache-Control on), so a backup can be restored into
 * any S3 bucket, or the embedded store, without another tool.
 *
 * An archive directory:
 *   objects.jsonl   one line per object: {"key","bytes","sha256","contentType","cacheControl"?}, in key order;
 *                   written under another name and renamed last, so an interrupted export has none
 *   objects/<key>   the object's bytes
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { z } from 'zod';
import { mapConcurrent } from '../concurrency';
import type { ProgressFn } from '../datasets/ingest.service';
import type { ObjectStore } from './object-store';

export const ARCHIVE_INDEX = 'objects.jsonl';
export const ARCHIVE_OBJECTS_DIR = 'objects';

/** Browser uploads waiting for verification (datasets/upload.service.ts): expired within minutes, never backed up. */
export const TRANSIENT_PREFIXES: readonly string[] = ['uploads/'];

/** Objects read or written at once. */
const CONCURRENCY = 8;

const entrySchema = z.object({
  key: z.string().min(1),
  bytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  contentType: z.string().min(1),
  cacheControl: z.string().optional(),
});
export type ArchiveEntry = z.infer<typeof entrySchema>;

/** An object key as a relative file path; refused when a part could leave the archive directory. */
function fileOf(dir: string, key: string): string {
  const parts = key.split('/');
  if (parts.some((part) => part === '' || part === '.' || part === '..' || part.includes('\\'))) throw new Error(`object key ${JSON.stringify(key)} cannot be a file path in an archive`);
  return path.join(dir, ARCHIVE_OBJECTS_DIR, ...parts);
}

/**
 * Copies every object under `prefixes` (default: all but TRANSIENT_PREFIXES) into `dir`, which must be empty or
 * absent. Progress counts objects.
 */
export async function exportObjects(store: ObjectStore, dir: string, options: { prefixes?: readonly string[]; onProgress?: ProgressFn } = {}): Promise<{ objects: number; bytes: number }> {
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) throw new Error(`${dir} is not empty: export into a new directory`);
  fs.mkdirSync(dir, { recursive: true });
  // By key: prefixes may overlap (cdn/ and cdn/a/). Keys ending in "/" are folder markers some S3 consoles make:
  // empty, never the hub's, and no file name.
  const byKey = new Map<string, { key: string; bytes: number }>();
  for (const prefix of options.prefixes ?? ['']) {
    for await (const object of store.list(prefix)) {
      if (!TRANSIENT_PREFIXES.some((p) => object.key.startsWith(p)) && !object.key.endsWith('/')) byKey.set(object.key, object);
    }
  }
  const listed = [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
  let done = 0;
  options.onProgress?.(0, listed.length);
  const entries = await mapConcurrent(listed, CONCURRENCY, async ({ key }): Promise<ArchiveEntry | null> => {
    const file = fileOf(dir, key);
    const object = await store.getObject(key);
    options.onProgress?.(++done, listed.length);
    if (!object) return null; // deleted since it was listed
    await fsp.mkdir(path.dirname(file), { recursive: true });
    await fsp.writeFile(file, object.body);
    const sha256 = crypto.createHash('sha256').update(object.body).digest('hex');
    return { key, bytes: object.body.length, sha256, contentType: object.contentType ?? 'application/octet-stream', ...(object.cacheControl ? { cacheControl: object.cacheControl } : {}) };
  });
  const kept = entries.filter((e): e is ArchiveEntry => e !== null);
  const partial = path.join(dir, `${ARCHIVE_INDEX}.partial`);
  await fsp.writeFile(partial, kept.map((e) => `${JSON.stringify(e)}\n`).join(''));
  await fsp.rename(partial, path.join(dir, ARCHIVE_INDEX));
  return { objects: kept.length, bytes: kept.reduce((n, e) => n + e.bytes, 0) };
}

/** The archive's entries, each checked; an archive without its index (an interrupted export) is refused. */
export async function readArchiveIndex(dir: string): Promise<ArchiveEntry[]> {
  const index = path.join(dir, ARCHIVE_INDEX);
  if (!fs.existsSync(index)) throw new Error(`${dir} has no ${ARCHIVE_INDEX}: not an export of \`edgeloop objects export\`, or one that did not finish`);
  const entries: ArchiveEntry[] = [];
  const lines = readline.createInterface({ input: fs.createReadStream(index), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (!line.trim()) continue;
    const parsed = entrySchema.safeParse(JSON.parse(line));
    if (!parsed.success) throw new Error(`${ARCHIVE_INDEX} line ${n}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    fileOf(dir, parsed.data.key);
    entries.push(parsed.data);
  }
  return entries;
}

/**
 * Writes every object of the archive in `dir` into the store, with the headers it was exported with, after checking
 * its size and sha256 against the index. Objects already there with the same key are replaced.
 */
export async function importObjects(store: ObjectStore, dir: string, options: { onProgress?: ProgressFn } = {}): Promise<{ objects: number; bytes: number }> {
  const entries = await readArchiveIndex(dir);
  let done = 0;
  options.onProgress?.(0, entries.length);
  await mapConcurrent(entries, CONCURRENCY, async (entry) => {
    const body = await fsp.readFile(fileOf(dir, entry.key));
    const sha256 = crypto.createHash('sha256').update(body).digest('hex');
    if (body.length !== entry.bytes || sha256 !== entry.sha256) throw new Error(`${entry.key}: the archive's file is not the object exported (${body.length} bytes, sha256 ${sha256.slice(0, 12)}…; expected ${entry.bytes} bytes, ${entry.sha256.slice(0, 12)}…)`);
    await store.put(entry.key, body, { contentType: entry.contentType, ...(entry.cacheControl ? { cacheControl: entry.cacheControl } : {}) });
    options.onProgress?.(++done, entries.length);
  });
  return { objects: entries.length, bytes: entries.reduce((n, e) => n + e.bytes, 0) };
}
