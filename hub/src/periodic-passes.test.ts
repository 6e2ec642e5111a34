/**
 * The periodic passes every hub process runs on its own timer (upload expiry, stalled runs) run one at a time across
 * the processes sharing a database: a pass that finds another's running skips (null), and work is done once.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, type TestHub, createTestHub, openSecondHub } from '../test/test-hub';
import * as uploads from './datasets/upload.repository';
import { importFolder } from './datasets/import-folder';
import { unlessBusy } from './db/advisory-lock';
import { runs } from './db/schema';
import type { HubDeps } from './deps';
import { EXPIRE_REVIEWS_LOCK, EXPIRE_UPLOADS_LOCK, expireReviewsPass, expireUploadsPass } from './housekeeping';
import { STALLED_STEPS_LOCK, recoverStalledStepsPass } from './pipelines/pipeline-worker';
import { encodeGreyscalePng } from './images/png';
import { getProject } from './projects/project.service';
import { STALLED_RUNS_LOCK, recoverStalledRunsPass } from './training/training-worker';

const png = (value: number) => Buffer.from(encodeGreyscalePng(new Uint8Array(16).fill(value), 4, 4));
const sha256 = (bytes: Uint8Array) => crypto.createHash('sha256').update(bytes).digest('hex');
const HOUR = 60 * 60 * 1000;
/** These deps an hour from now, when every upload started in the test has expired. */
const anHourLater = (deps: HubDeps): HubDeps => ({ ...deps, now: () => new Date(Date.now() + HOUR) });

/** Holds `key`'s pass lock from `deps` (as another process's pass running) until release() is called. */
function holdPass(deps: HubDeps, key: string) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let taken!: () => void;
  const held = new Promise<void>((resolve) => (taken = resolve));
  const done = unlessBusy(deps.db, key, async () => {
    taken();
    await released;
    return 'held';
  });
  return { held, done, release };
}

async function setUp(kind: 'pglite' | 'postgres') {
  const hub = await createTestHub(kind);
  await (await hub.as('admin')).projects.create({ slug: 'shapes', labels: ['circle', 'square'] });
  return hub;
}

/** An upload whose bytes were PUT but never completed, as a closed browser tab leaves it. */
async function abandonedUpload(hub: TestHub, value: number): Promise<string> {
  const bytes = png(value);
  const ticket = await (await hub.as('labeler')).items.createUpload({ project: 'shapes', sha256: sha256(bytes), bytes: bytes.length, contentType: 'image/png', label: 'circle' });
  expect((await fetch(ticket.url, { method: 'PUT', body: bytes, headers: ticket.headers })).status).toBe(200);
  return ticket.uploadId;
}

describe.each(DATABASES)('periodic passes on $kind', ({ kind, skip }) => {
  let hub: TestHub;
  beforeAll(async () => {
    if (!skip) hub = await setUp(kind);
  });
  afterAll(() => hub?.close());

  it.skipIf(skip)("skip while another pass holds their lock, and do the work once it is free", async () => {
    const upload = await abandonedUpload(hub, 1);
    // On PostgreSQL the holder is another process (its own pool); PGlite is one process's database.
    const other = kind === 'postgres' ? await openSecondHub(hub) : null;
    try {
      const holder = holdPass(other?.deps ?? hub.deps, EXPIRE_UPLOADS_LOCK);
      await holder.held;
      expect(await expireUploadsPass(anHourLater(hub.deps))).toBeNull();
      expect(await uploads.find(hub.deps.db, upload)).not.toBeNull();
      holder.release();
      expect(await holder.done).toBe('held');
      expect(await expireUploadsPass(anHourLater(hub.deps))).toBe(1);
      expect(await uploads.find(hub.deps.db, upload)).toBeNull();
    } finally {
      await other?.close();
    }
  });

  it.skipIf(skip)('each take their own lock: skipped while it is held, run (counting what they did) when it is free', async () => {
    const passes: [string, (deps: HubDeps) => Promise<number | null>][] = [
      [EXPIRE_UPLOADS_LOCK, expireUploadsPass],
      [EXPIRE_REVIEWS_LOCK, expireReviewsPass],
      [STALLED_RUNS_LOCK, recoverStalledRunsPass],
      [STALLED_STEPS_LOCK, recoverStalledStepsPass],
    ];
    const other = kind === 'postgres' ? await openSecondHub(hub) : null;
    try {
      for (const [key, pass] of passes) {
        const holder = holdPass(other?.deps ?? hub.deps, key);
        await holder.held;
        expect(await pass(hub.deps), key).toBeNull();
        // Another pass's lock does not stop this one.
        const [otherKey, otherPass] = passes.find(([k]) => k !== key)!;
        expect(await otherPass(hub.deps), `${otherKey} while ${key} is held`).toBe(0);
        holder.release();
        await holder.done;
        expect(await pass(hub.deps), key).toBe(0);
      }
    } finally {
      await other?.close();
    }
  });

  it.skipIf(skip)('release their lock when the pass fails, so the next pass runs', async () => {
    await expect(unlessBusy(hub.deps.db, STALLED_RUNS_LOCK, () => Promise.reject(new Error('the pass failed')))).rejects.toThrow('the pass failed');
    expect(await recoverStalledRunsPass(hub.deps)).toBe(0);
  });
});

describe.skipIf(DATABASES[1]!.skip)('periodic passes of two hub processes on one PostgreSQL database', () => {
  let hub: TestHub;
  let second: Awaited<ReturnType<typeof openSecondHub>>;
  beforeAll(async () => {
    hub = await setUp('postgres');
    second = await openSecondHub(hub);
  });
  afterAll(async () => {
    await second?.close();
    await hub?.close();
  });

  it('expire each abandoned upload once when both run their pass at the same time', async () => {
    const ids = [await abandonedUpload(hub, 11), await abandonedUpload(hub, 12), await abandonedUpload(hub, 13)];
    const counts = await Promise.all([expireUploadsPass(anHourLater(hub.deps)), expireUploadsPass(anHourLater(second.deps))]);
    expect(counts.reduce<number>((sum, n) => sum + (n ?? 0), 0)).toBe(3);
    for (const id of ids) expect(await uploads.find(hub.deps.db, id)).toBeNull();
  });

  it('hand a stalled training run back to the queue once when both check at the same time', async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-passes-'));
    for (const label of ['circle', 'square']) {
      fs.mkdirSync(path.join(folder, label));
      for (const value of [1, 2, 3]) fs.writeFileSync(path.join(folder, label, `${value}.png`), png(value + (label === 'circle' ? 0 : 100)));
    }
    await importFolder(hub.deps, await getProject(hub.deps, 'shapes'), folder);
    fs.rmSync(folder, { recursive: true, force: true });
    const engineer = await hub.as('engineer');
    const version = (await engineer.datasets.commit({ project: 'shapes', message: 'six shapes' })).version;
    const run = await engineer.runs.create({ project: 'shapes', datasetVersion: version.id, train: { epochs: 1 } });
    // Its worker took it and died: no heartbeat for two minutes.
    await hub.deps.db.update(runs).set({ status: 'running', attempts: 1, worker: 'dead-worker', heartbeatAt: new Date(Date.now() - 120_000) }).where(eq(runs.id, run.id));

    const counts = await Promise.all([recoverStalledRunsPass(hub.deps), recoverStalledRunsPass(second.deps)]);
    expect(counts.reduce<number>((sum, n) => sum + (n ?? 0), 0)).toBe(1);
    expect((await engineer.runs.get({ runId: run.id })).status).not.toBe('running');
  });
});
