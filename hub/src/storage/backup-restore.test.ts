/**
 * The README's "Backup and restore", done as written on PostgreSQL 15: pg_dump -Fc of a hub's database,
 * `edgeloop objects export` of its bucket and a copy of its signing keys directory; then pg_restore into an empty
 * database, `edgeloop objects import` into an empty bucket, `edgeloop key resign-pointers` (a promote may have
 * moved a pointer after the dump), and a new hub on them (the source's database and store gone) serves the same
 * dataset versions, model versions and channels: the pointer and manifest bytes over /cdn, and
 * a device that trusted the old hub's keys trusts what the new hub signs. Without the keys the new hub refuses to start.
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CDN_PREFIX, type ModelManifest, type VerifyingKey, objectKeyForSha256, readChannelPointer, readModelManifest } from '@edgeloop/shared';
import { afterAll, describe, expect, it } from 'vitest';
import { PG_BIN } from '../../test/postgres-cluster';
import { publishTinyModel } from '../../test/published-model';
import { childEnv } from '../../test/child-env';
import { smallFashionVersion } from '../../test/small-dataset-version';
import { DATABASES, freshPostgres } from '../../test/test-hub';
import { manifestKey } from '../datasets/manifest';
import { listVersions, loadManifest } from '../datasets/version.service';
import { holdoutKey } from '../pipelines/build-dataset.step';
import { runArtifactPrefix } from '../training/training.job';
import type { Caller } from '../deps';
import { loadEnv } from '../env';
import { type Hub, openHub } from '../hub';
import { listModelVersions, listModels, promote } from '../registry/channel.service';
import { trustedKeySet } from '../registry/trusted-key-set';
import { createHubServer, listen } from '../server';
import { ARCHIVE_INDEX, ARCHIVE_OBJECTS_DIR, TRANSIENT_PREFIXES } from './object-archive';
import { type EmbeddedS3, startEmbeddedS3 } from './embedded-s3';

const run = promisify(execFile);
const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../bin/edgeloop.js');
const postgres = DATABASES.find((d) => d.kind === 'postgres')!;
const engineer: Caller = { tokenId: null, name: 'test-engineer', role: 'engineer', projects: null };
const PROJECT = 'fashion';
const MODEL = 'cnn';
const CHANNELS = ['production', 'staging'];

/** A deployment's pieces: its database, its own S3 server, and the settings a hub or the CLI uses on them. */
async function deployment(tmp: string, name: string, database: { url: string }, keysDir: string) {
  const s3 = await startEmbeddedS3({ directory: path.join(tmp, `${name}-s3`), bucket: 'edgeloop' });
  const vars = {
    DATABASE_URL: database.url,
    S3_ENDPOINT: s3.endpoint,
    S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    SIGNING_KEYS_DIR: keysDir,
    HUB_DATA_DIR: path.join(tmp, `${name}-hub`),
    LOG_LEVEL: 'warn',
  };
  return { s3, vars };
}

/** Runs the real CLI with a deployment's settings; its stdout. */
async function cli(vars: Record<string, string>, ...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [CLI, ...args], { env: childEnv(vars), timeout: 120_000 });
  return stdout;
}

async function pg(bin: string, args: string[]): Promise<void> {
  await run(path.join(PG_BIN, bin), args, { timeout: 120_000 });
}

/**
 * What clients see of a hub: dataset versions (and the images of `datasetVersion`, the one made of real images),
 * models, versions, and each channel's pointer, manifest and files on /cdn.
 */
async function served(hub: Hub, base: string, datasetVersion: string) {
  const datasets = await listVersions(hub.deps, PROJECT);
  const images: Record<string, string> = {};
  const { manifest: datasetManifest } = await loadManifest(hub.deps, PROJECT, datasetVersion);
  for (const item of datasetManifest.items) {
    const bytes = await hub.deps.store.get(objectKeyForSha256(item.sha256));
    images[item.sha256] = bytes ? crypto.createHash('sha256').update(bytes).digest('hex') : 'missing';
  }
  const channels: Record<string, { pointer: string; manifest: string; files: Record<string, string> }> = {};
  for (const channel of CHANNELS) {
    const dir = `${base}/cdn/${PROJECT}/${MODEL}/`;
    const pointerResponse = await fetch(`${dir}channels/${channel}.json`);
    expect(pointerResponse.status, channel).toBe(200);
    const pointer = await pointerResponse.text();
    const { manifestPath } = JSON.parse(JSON.parse(pointer).payload) as { manifestPath: string };
    const manifestUrl = new URL(manifestPath, `${dir}channels/`);
    const manifest = await (await fetch(manifestUrl)).text();
    const files: Record<string, string> = {};
    const { variants } = JSON.parse(JSON.parse(manifest).payload) as ModelManifest;
    for (const file of variants.flatMap((v) => [v.modelJson, ...v.shards])) {
      const response = await fetch(new URL(file.path, manifestUrl));
      files[file.path] = `${response.status} ${response.headers.get('cache-control')} ${crypto.createHash('sha256').update(Buffer.from(await response.arrayBuffer())).digest('hex')}`;
    }
    channels[channel] = { pointer, manifest, files };
  }
  const models = await listModels(hub.deps, { project: PROJECT });
  const versions = await listModelVersions(hub.deps, { project: PROJECT, model: MODEL });
  return { datasets, images, channels, models, versions };
}

/** A hub's HTTP server (its /cdn route) on a free loopback port. */
async function serve(hub: Hub, webRoot: string) {
  const server = createHubServer(hub.deps, { webRoot });
  const { port } = await listen(server, 0, '127.0.0.1');
  return { base: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** The steps below, as the README's "Backup and restore" writes them. */
const STEPS = ['pg_dump -Fc', 'pg_restore --no-owner --exit-on-error', 'edgeloop objects export', 'edgeloop objects import', 'edgeloop key resign-pointers', 'SIGNING_KEYS_DIR'];

it('the README\'s "Backup and restore" names the steps this test runs, and every prefix the archive may hold', () => {
  const readme = fs.readFileSync(path.join(path.dirname(CLI), '../../README.md'), 'utf8');
  const section = /^## Backup and restore\n([\s\S]*?)^## /m.exec(readme)?.[1];
  expect(section, 'a "Backup and restore" section').toBeDefined();
  for (const step of STEPS) expect(section, step).toContain(step);
  // Where the hub writes (each module's own key function), up to the part that names one object.
  const sha = 'ab'.repeat(32);
  const dirOf = (key: string, depth: number) => key.split('/').slice(0, depth).join('/');
  const prefixes = [dirOf(objectKeyForSha256(sha), 2), dirOf(manifestKey(sha), 2), dirOf(runArtifactPrefix('run'), 1), dirOf(CDN_PREFIX, 1), dirOf(holdoutKey(sha), 2), ...TRANSIENT_PREFIXES.map((p) => dirOf(p, 1))];
  expect(prefixes).toEqual(['objects/sha256', 'datasets/manifests', 'runs', 'cdn', 'pipelines/holdouts', 'uploads']);
  for (const prefix of prefixes) expect(section, prefix).toContain(`\`${prefix}`);
});

describe.skipIf(postgres.skip)('backup and restore on PostgreSQL 15 and S3', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-backup-'));
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('restores into an empty database and bucket a hub that serves the same datasets, models and channels', async () => {
    // The running deployment: a dataset version and two published versions, each on a channel.
    const sourceDb = await freshPostgres();
    await sourceDb.database.close();
    const source = await deployment(tmp, 'source', sourceDb, path.join(tmp, 'source-keys'));
    const hubA = await openHub(loadEnv(source.vars));
    let sourceGone = false;
    cleanups.push(async () => {
      if (sourceGone) return;
      await hubA.close();
      await source.s3.close();
      await sourceDb.dropDatabase();
    });
    await hubA.deps.keys.ready();
    const datasetVersion = await smallFashionVersion(hubA.deps, PROJECT, { train: 12, val: 4, test: 4 });
    await publishTinyModel(hubA.deps, { project: PROJECT, model: MODEL, channel: 'production', seed: 1 });
    await publishTinyModel(hubA.deps, { project: PROJECT, model: MODEL, channel: 'staging', seed: 2 });
    const httpA = await serve(hubA, tmp);
    const before = await served(hubA, httpA.base, datasetVersion);
    await httpA.close();
    expect(before.datasets.map((v) => v.id)).toContain(datasetVersion);
    expect(Object.keys(before.images)).toHaveLength(20);
    expect(Object.entries(before.images).every(([sha, stored]) => stored === sha)).toBe(true);
    expect(before.versions.versions.map((v) => v.version).sort()).toEqual([1, 2]);
    // What a device trusted before the restore.
    const trustedBefore: VerifyingKey[] = (await trustedKeySet(hubA.deps)).keys;

    // The backup: the database dump, the objects, the keys directory.
    const dump = path.join(tmp, 'edgeloop.dump');
    await pg('pg_dump', ['-Fc', '-f', dump, sourceDb.url]);
    // A promote between the dump and the object export: the archive's pointer is newer than the dump's channel row.
    await promote(hubA.deps, engineer, { project: PROJECT, model: MODEL, channel: 'production', version: 2, reason: 'during the backup' });
    const archive = path.join(tmp, 'objects');
    expect(await cli(source.vars, 'objects', 'export', archive)).toMatch(/^exported \d+ objects/);
    expect(fs.existsSync(path.join(archive, ARCHIVE_INDEX))).toBe(true);
    const archivedPointer = fs.readFileSync(path.join(archive, ARCHIVE_OBJECTS_DIR, `cdn/${PROJECT}/${MODEL}/channels/production.json`), 'utf8');
    expect((JSON.parse(JSON.parse(archivedPointer).payload) as { version: number }).version).toBe(2);
    const keysBackup = path.join(tmp, 'keys-backup');
    fs.cpSync(hubA.deps.keys.dir, keysBackup, { recursive: true });

    // The old deployment is gone.
    sourceGone = true;
    await hubA.close();
    await source.s3.close();
    await sourceDb.dropDatabase();

    // The restore: an empty database and bucket, the keys put back, a new hub on them.
    const targetDb = await freshPostgres({ migrate: false });
    await targetDb.database.close();
    const target = await deployment(tmp, 'target', targetDb, keysBackup);
    cleanups.push(async () => {
      await target.s3.close();
      await targetDb.dropDatabase();
    });
    await pg('pg_restore', ['--no-owner', '--exit-on-error', '-d', targetDb.url, dump]);
    expect(await cli(target.vars, 'objects', 'import', archive)).toMatch(/^imported \d+ objects/);
    // The pointers written anew from the restored database (the same key signs the same content: the same bytes).
    expect(await cli(target.vars, 'key', 'resign-pointers')).toMatch(new RegExp(`^re-signed ${CHANNELS.length} channel pointers`));
    const hubB = await openHub(loadEnv(target.vars));
    cleanups.push(() => hubB.close());
    await hubB.deps.keys.ready();
    const httpB = await serve(hubB, tmp);
    cleanups.push(() => httpB.close());
    const after = await served(hubB, httpB.base, datasetVersion);
    expect(after).toEqual(before);

    // The keys came back: what the new hub signs, a device that trusted the old one trusts.
    await promote(hubB.deps, engineer, { project: PROJECT, model: MODEL, channel: 'production', version: 2, reason: 'after the restore' });
    const ref = { project: PROJECT, model: MODEL, channel: 'production' };
    const pointerText = await (await fetch(`${httpB.base}/cdn/${PROJECT}/${MODEL}/channels/production.json`)).text();
    const pointer = await readChannelPointer(pointerText, trustedBefore, ref);
    expect(pointer.version).toBe(2);
    const manifestText = await (await fetch(new URL(pointer.manifestPath, `${httpB.base}/cdn/${PROJECT}/${MODEL}/channels/`))).text();
    expect((await readModelManifest(manifestText, trustedBefore, pointer)).version).toBe(2);
  }, 300_000);

  it('refuses to sign with a hub whose keys directory lacks the key the database names (keys not restored)', async () => {
    const db = await freshPostgres();
    await db.database.close();
    const first = await deployment(tmp, 'keys-first', db, path.join(tmp, 'keys-first'));
    const hub = await openHub(loadEnv(first.vars));
    await hub.deps.keys.ready();
    await hub.close();
    const restored = await openHub(loadEnv({ ...first.vars, SIGNING_KEYS_DIR: path.join(tmp, 'keys-not-backed-up') }));
    cleanups.push(async () => {
      await restored.close();
      await first.s3.close();
      await db.dropDatabase();
    });
    await expect(restored.deps.keys.ready()).rejects.toThrow(/the database's active signing key is [0-9a-f]{16}, but the keys directory \S+keys-not-backed-up does not hold it/);
  }, 120_000);
});
