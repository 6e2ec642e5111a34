/** The object store to a directory and back, against the embedded S3 server: bytes, headers, prefixes, refusals. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARCHIVE_INDEX, ARCHIVE_OBJECTS_DIR, exportObjects, importObjects, readArchiveIndex } from './object-archive';
import { type EmbeddedS3, startEmbeddedS3 } from './embedded-s3';
import { type ObjectStore, createS3ObjectStore } from './object-store';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-archive-'));
const storeOn = (s3: EmbeddedS3): ObjectStore => createS3ObjectStore({ endpoint: s3.endpoint, region: 'us-east-1', bucket: s3.bucket, credentials: s3.credentials, forcePathStyle: true });
const text = (value: string) => new TextEncoder().encode(value);

/** Every key of a store with its bytes and headers. */
async function contents(store: ObjectStore): Promise<Record<string, { body: string; contentType?: string; cacheControl?: string }>> {
  const out: Record<string, { body: string; contentType?: string; cacheControl?: string }> = {};
  for await (const { key } of store.list('')) {
    const object = (await store.getObject(key))!;
    out[key] = { body: Buffer.from(object.body).toString('utf8'), contentType: object.contentType, cacheControl: object.cacheControl };
  }
  return out;
}

describe('object archives', () => {
  let sourceS3: EmbeddedS3;
  let source: ObjectStore;
  beforeAll(async () => {
    sourceS3 = await startEmbeddedS3({ directory: path.join(tmp, 'source'), bucket: 'edgeloop' });
    source = storeOn(sourceS3);
    await source.put('cdn/pets/cnn/channels/production.json', text('{"pointer":1}'), { contentType: 'application/json', cacheControl: 'public, max-age=60' });
    await source.put('cdn/pets/cnn/v1/manifest.0123456789abcdef.json', text('{"manifest":1}'), { contentType: 'application/json', cacheControl: 'public, max-age=31536000, immutable' });
    await source.put('objects/sha256/ab/abcd', text('image bytes'), { contentType: 'image/png' });
    await source.put('datasets/manifests/v1.json.gz', text('gz'), { contentType: 'application/gzip' });
    await source.put('uploads/11111111-2222-3333-4444-555555555555', text('staged, unverified'), { contentType: 'image/png' });
  });
  afterAll(async () => {
    await sourceS3?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('lists keys under a prefix in key order, across pages', async () => {
    const keys: string[] = [];
    for await (const { key } of source.list('cdn/')) keys.push(key);
    expect(keys).toEqual(['cdn/pets/cnn/channels/production.json', 'cdn/pets/cnn/v1/manifest.0123456789abcdef.json']);
    // More than one page (1,000 keys) of the embedded server.
    const many = Array.from({ length: 1005 }, (_, i) => `pipelines/many/${String(i).padStart(4, '0')}`);
    for (let i = 0; i < many.length; i += 100) await Promise.all(many.slice(i, i + 100).map((key) => source.put(key, text(key), { contentType: 'text/plain' })));
    let listed = 0;
    for await (const object of source.list('pipelines/many/')) expect(object.key).toBe(many[listed++]);
    expect(listed).toBe(many.length);
    await Promise.all(many.map((key) => source.delete(key)));
  });

  it('copies every object but staged uploads into an empty store, bytes and headers alike', async () => {
    const dir = path.join(tmp, 'full');
    const exported = await exportObjects(source, dir);
    expect(exported.objects).toBe(4);
    expect(fs.existsSync(path.join(dir, `${ARCHIVE_INDEX}.partial`))).toBe(false);
    const targetS3 = await startEmbeddedS3({ directory: path.join(tmp, 'target'), bucket: 'edgeloop' });
    try {
      const target = storeOn(targetS3);
      const progress: [number, number][] = [];
      expect(await importObjects(target, dir, { onProgress: (done, total) => progress.push([done, total]) })).toEqual(exported);
      expect(progress.at(-1)).toEqual([4, 4]);
      const { ['uploads/11111111-2222-3333-4444-555555555555']: staged, ...kept } = await contents(source);
      expect(staged).toBeDefined();
      expect(await contents(target)).toEqual(kept);
    } finally {
      await targetS3.close();
    }
  });

  it('exports only the prefixes asked for', async () => {
    const dir = path.join(tmp, 'cdn-only');
    await exportObjects(source, dir, { prefixes: ['cdn/'] });
    expect((await readArchiveIndex(dir)).map((e) => e.key)).toEqual(['cdn/pets/cnn/channels/production.json', 'cdn/pets/cnn/v1/manifest.0123456789abcdef.json']);
    // Overlapping prefixes give each object once, in key order.
    const overlapping = path.join(tmp, 'overlapping');
    await exportObjects(source, overlapping, { prefixes: ['objects/', 'cdn/pets/cnn/v1/', 'cdn/'] });
    expect((await readArchiveIndex(overlapping)).map((e) => e.key)).toEqual(['cdn/pets/cnn/channels/production.json', 'cdn/pets/cnn/v1/manifest.0123456789abcdef.json', 'objects/sha256/ab/abcd']);
  });

  it('refuses a directory that is not empty, an archive without its index, and a file changed since the export', async () => {
    const dir = path.join(tmp, 'checked');
    await exportObjects(source, dir);
    await expect(exportObjects(source, dir)).rejects.toThrow(/is not empty: export into a new directory/);
    const target = storeOn(sourceS3);
    fs.writeFileSync(path.join(dir, ARCHIVE_OBJECTS_DIR, 'objects/sha256/ab/abcd'), 'other bytes');
    await expect(importObjects(target, dir)).rejects.toThrow(/objects\/sha256\/ab\/abcd: the archive's file is not the object exported/);
    fs.rmSync(path.join(dir, ARCHIVE_INDEX));
    await expect(importObjects(target, dir)).rejects.toThrow(/has no objects\.jsonl: not an export of `edgeloop objects export`, or one that did not finish/);
  });

  it('refuses an index naming a key outside the archive', async () => {
    const dir = path.join(tmp, 'escape');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, ARCHIVE_INDEX), `${JSON.stringify({ key: '../../etc/passwd', bytes: 1, sha256: 'a'.repeat(64), contentType: 'text/plain' })}\n`);
    await expect(readArchiveIndex(dir)).rejects.toThrow(/cannot be a file path in an archive/);
  });
});
