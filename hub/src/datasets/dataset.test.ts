import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { sql } from 'drizzle-orm';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { solidPng } from '../../test/image-bomb';
import { DATABASES, type TestHub, createTestHub } from '../../test/test-hub';
import { FASHION_MNIST_LABELS, SAMPLE_DIR } from '../demo';
import { importFolder } from './import-folder';
import { importIdx, mnistStylePairs } from './import-idx';
import { getProject } from '../projects/project.service';

const tinyPng = (value: number) =>
  sharp({ create: { width: 8, height: 8, channels: 3, background: { r: value, g: 0, b: 0 } } }).png().toBuffer();

describe.each(DATABASES)('dataset versioning on $kind', ({ kind, skip }) => {
  let hub: TestHub;
  beforeAll(async () => {
    if (!skip) hub = await createTestHub(kind);
  });
  afterAll(() => hub?.close());

  it.skipIf(skip)('imports IDX files, commits, edits, commits again and diffs', async () => {
    const engineer = await hub.as('engineer');
    await engineer.projects.create({ slug: 'fashion', labels: FASHION_MNIST_LABELS });
    const project = await getProject(hub.deps, 'fashion');
    const imported = await importIdx(hub.deps, project, mnistStylePairs(SAMPLE_DIR));
    expect(imported.added + imported.duplicates).toBe(3000);
    expect(imported.added).toBeGreaterThan(2990);

    const first = await engineer.datasets.commit({ project: 'fashion', message: 'sample' });
    expect(first.created).toBe(true);
    expect(first.version.itemCount).toBe(imported.added);
    expect(first.version.counts.test).toBeDefined();
    // Same content, same version.
    const again = await engineer.datasets.commit({ project: 'fashion', message: 'again' });
    expect(again).toMatchObject({ created: false, version: { id: first.version.id } });

    // A re-import of the same files adds nothing and writes no object twice.
    const reimport = await importIdx(hub.deps, project, mnistStylePairs(SAMPLE_DIR));
    expect(reimport).toMatchObject({ added: 0, objectsWritten: 0 });

    const page = await engineer.items.list({ project: 'fashion', limit: 3 });
    expect(page.total).toBe(imported.added);
    const [toRelabel, toRemove, toResplit] = page.items;
    const newLabel = FASHION_MNIST_LABELS.find((l) => l !== toRelabel!.label)!;
    const labeler = await hub.as('labeler');
    await labeler.items.update({ project: 'fashion', sha256: toRelabel!.sha256, label: newLabel });
    await labeler.items.update({ project: 'fashion', sha256: toResplit!.sha256, split: 'val' });
    await engineer.items.remove({ project: 'fashion', sha256: toRemove!.sha256 });
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-folder-'));
    fs.mkdirSync(path.join(folder, 'Bag'));
    fs.writeFileSync(path.join(folder, 'Bag', 'red.png'), await tinyPng(200));
    expect(await importFolder(hub.deps, project, folder)).toMatchObject({ added: 1, duplicates: 0 });

    const second = await engineer.datasets.commit({ project: 'fashion', message: 'edits' });
    expect(second.version.parentId).toBe(first.version.id);
    const diff = await engineer.datasets.diff({ project: 'fashion', from: first.version.id.slice(0, 10), to: second.version.id });
    expect(diff.counts).toEqual({ added: 1, removed: 1, relabelled: 2, unchanged: imported.added - 3 });
    expect(diff.removed[0]!.sha256).toBe(toRemove!.sha256);
    expect(diff.relabelled).toContainEqual({
      sha256: toRelabel!.sha256,
      from: { label: toRelabel!.label, split: toRelabel!.split },
      to: { label: newLabel, split: toRelabel!.split },
    });

    // The first version still holds what it held.
    const versions = await engineer.datasets.list({ project: 'fashion' });
    expect(versions.map((v) => v.id)).toEqual([second.version.id, first.version.id]);
    const exported = await engineer.datasets.export({ project: 'fashion', version: first.version.id });
    const response = await fetch(exported.manifestUrl);
    expect(response.status).toBe(200);
    const json = zlib.gunzipSync(Buffer.from(await response.arrayBuffer())).toString('utf8');
    expect(crypto.createHash('sha256').update(json).digest('hex')).toBe(first.version.id);
    expect(JSON.parse(json).items).toHaveLength(imported.added);
  });

  it.skipIf(skip)('refuses to change a committed version in the database', async () => {
    const error = await hub.deps.db.execute(sql`update dataset_versions set message = 'rewritten'`).catch((e: Error) => e);
    // drizzle wraps the database error; the trigger's message is the cause.
    expect(String((error as Error).cause)).toMatch(/dataset version [0-9a-f]{64} is immutable/);
  });

  it.skipIf(skip)('refuses a folder with an unknown class or a corrupt image, writing nothing', async () => {
    const project = await getProject(hub.deps, 'fashion');
    const before = await hub.as('engineer').then((c) => c.items.list({ project: 'fashion', limit: 1 }));
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-folder-'));
    fs.mkdirSync(path.join(folder, 'Bag'));
    fs.mkdirSync(path.join(folder, 'Hat'));
    fs.writeFileSync(path.join(folder, 'Bag', 'ok.png'), await tinyPng(10));
    fs.writeFileSync(path.join(folder, 'Hat', 'ok.png'), await tinyPng(11));
    await expect(importFolder(hub.deps, project, folder)).rejects.toThrow(/Hat is not a label of project "fashion"; valid labels: T-shirt, Trouser/);

    fs.rmSync(path.join(folder, 'Hat'), { recursive: true });
    fs.writeFileSync(path.join(folder, 'Bag', 'broken.png'), (await tinyPng(12)).subarray(0, 40));
    await expect(importFolder(hub.deps, project, folder)).rejects.toThrow(/broken\.png is not a decodable PNG, JPEG or WebP image/);
    fs.rmSync(path.join(folder, 'Bag', 'broken.png'));
    fs.writeFileSync(path.join(folder, 'Bag', 'bomb.png'), await solidPng(16_000, 16_000));
    await expect(importFolder(hub.deps, project, folder)).rejects.toThrow(/bomb\.png is 16000 x 16000 = 256000000 pixels; the project accepts at most 16777216 \(maxImagePixels\)$/);
    const after = await hub.as('engineer').then((c) => c.items.list({ project: 'fashion', limit: 1 }));
    expect(after.total).toBe(before.total);
  });

  it.skipIf(skip)('names the field and the valid values on bad input', async () => {
    const engineer = await hub.as('engineer');
    await expect(engineer.projects.create({ slug: 'x', labels: ['a', 'b'] })).rejects.toThrow(/slug must be 2-63 characters/);
    await expect(engineer.projects.create({ slug: 'fashion', labels: ['a', 'b'] })).rejects.toThrow(/already exists/);
    await expect(engineer.projects.create({ slug: 'dupes', labels: ['a', 'a'] })).rejects.toThrow(/labels must be unique/);
    await expect(engineer.items.list({ project: 'fashion', label: 'Hat' })).rejects.toThrow(/valid labels: T-shirt/);
    await expect(engineer.items.list({ project: 'fashion', split: 'dev' as never })).rejects.toThrow(/split: split must be one of: train, val, test/);
    await expect(engineer.datasets.get({ project: 'nope', version: 'abcdef0123' })).rejects.toThrow(/no project "nope"/);
    await expect(engineer.datasets.get({ project: 'fashion', version: 'abcdef0123' })).rejects.toThrow(/has no dataset version/);
  });
});
