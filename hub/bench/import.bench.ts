/**
 * `npm run bench`: imports Fashion-MNIST into a dataset version through the hub (PGlite and PostgreSQL 15)
 * and, as the baseline in the same run, writes the same objects and rows with no hub logic:
 * pre-encoded PNGs PUT with the same object store client and concurrency, and the same rows as plain
 * 1,000-row INSERTs. Each measurement gets a fresh database and a fresh embedded S3 server.
 */
import crypto from 'node:crypto';
import { objectKeyForSha256 } from '@edgeloop/shared';
import { sql } from 'drizzle-orm';
import { mapConcurrent } from '../src/concurrency';
import { importIdx } from '../src/datasets/import-idx';
import { readIdxImages, readIdxLabels } from '../src/datasets/idx';
import { createProject } from '../src/projects/project.service';
import { commitVersion } from '../src/datasets/version.service';
import { FASHION_MNIST_LABELS, fashionMnistSource } from '../src/demo';
import { loadEnv } from '../src/env';
import { encodeGreyscalePng } from '../src/images/png';
import { progressBar } from '../src/progress';
import { type Setup, benchDatabases, freshSetup, machineLine, printTable } from './bench-setup';

const env = loadEnv();
const source = fashionMnistSource(env.FASHION_MNIST_DIR);

async function hubImport(setup: Setup, label: string): Promise<{ seconds: number; images: number }> {
  const bar = progressBar(`hub import (${label})`);
  const started = performance.now();
  const project = await createProject(setup.deps, { slug: 'fashion-mnist', labels: FASHION_MNIST_LABELS, createdBy: 'bench' });
  const result = await importIdx(setup.deps, project, source.pairs, bar.update);
  await commitVersion(setup.deps, { project: project.slug, message: 'bench', createdBy: 'bench' });
  bar.stop();
  return { seconds: (performance.now() - started) / 1000, images: result.added + result.duplicates };
}

/** The same objects and rows, prepared outside the clock, written without validation, dedup or versioning. */
async function rawWrite(setup: Setup, label: string): Promise<{ seconds: number; images: number }> {
  const objects: { sha256: string; bytes: Buffer; label: string; split: string }[] = [];
  for (const pair of source.pairs) {
    const [images, labels] = await Promise.all([readIdxImages(pair.images), readIdxLabels(pair.labels)]);
    const size = images.rows * images.cols;
    for (let i = 0; i < images.count; i++) {
      const bytes = encodeGreyscalePng(images.pixels.subarray(i * size, (i + 1) * size), images.cols, images.rows);
      objects.push({ sha256: crypto.createHash('sha256').update(bytes).digest('hex'), bytes, label: FASHION_MNIST_LABELS[labels[i]!]!, split: pair.split });
    }
  }
  const { db, store } = setup.deps;
  await db.execute(sql`create table raw_items (sha256 text primary key, bytes int, label text, split text)`);
  const bar = progressBar(`baseline (${label})`);
  const started = performance.now();
  let done = 0;
  await mapConcurrent(objects, 32, async (o) => {
    await store.put(objectKeyForSha256(o.sha256), o.bytes, { contentType: 'image/png' });
    if (++done % 1000 === 0) bar.update(done, objects.length);
  });
  for (let i = 0; i < objects.length; i += 1000) {
    const rows = objects.slice(i, i + 1000).map((o) => sql`(${o.sha256}, ${o.bytes.length}, ${o.label}, ${o.split})`);
    await db.execute(sql`insert into raw_items values ${sql.join(rows, sql`, `)} on conflict do nothing`);
  }
  bar.stop();
  return { seconds: (performance.now() - started) / 1000, images: objects.length };
}

async function main(): Promise<void> {
  console.log(`Fashion-MNIST ${source.kind === 'full' ? 'full (70,000 images)' : 'SAMPLE (3,000 images; install dataset-fashion-mnist for the full set)'} from ${source.dir}`);
  console.log(`${machineLine()}\n`);
  const { databases, stop } = await benchDatabases();
  const rows: string[][] = [];
  try {
    for (const database of databases) {
      const hub = await freshSetup(database.open);
      const imported = await hubImport(hub, database.label).finally(() => hub.close());
      const base = await freshSetup(database.open);
      const baseline = await rawWrite(base, database.label).finally(() => base.close());
      rows.push([
        database.label,
        String(imported.images),
        imported.seconds.toFixed(1),
        Math.round(imported.images / imported.seconds).toLocaleString('en'),
        baseline.seconds.toFixed(1),
        Math.round(baseline.images / baseline.seconds).toLocaleString('en'),
        (imported.seconds / baseline.seconds).toFixed(2),
      ]);
    }
  } finally {
    stop();
  }
  printTable(['database', 'images', 'hub import s', 'hub images/s', 'baseline s', 'baseline images/s', 'hub / baseline'], rows);
  console.log('\nhub import = IDX decode + PNG encode + sha256 + dedup + object PUTs + rows in one transaction + version commit');
  console.log('baseline   = the same PNG objects PUT (32 in flight) and the same rows INSERTed 1,000 per statement');
}

await main();
