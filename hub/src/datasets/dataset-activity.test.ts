import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, type TestHub, createTestHub, openSecondHub, refusal } from '../../test/test-hub';
import type { Project } from '../projects/project.repository';
import { getProject } from '../projects/project.service';
import { KEEP_FINISHED_MS, STALE_AFTER_MS, STALE_WORDS, activitiesOf, startActivity } from './dataset-activity';
import { importFolder } from './import-folder';

const png = (red: number) => sharp({ create: { width: 8, height: 8, channels: 3, background: { r: red, g: 0, b: 0 } } }).png().toBuffer();
const MINUTE = 60_000;

describe.each(DATABASES)('imports and commits as activities the admin can watch, on $kind', ({ kind, skip }) => {
  let hub: TestHub;
  let busy: Project;
  beforeAll(async () => {
    if (skip) return;
    hub = await createTestHub(kind);
    const admin = await hub.as('admin');
    await admin.projects.create({ slug: 'busy', labels: ['red', 'blue'] });
    await admin.projects.create({ slug: 'quiet', labels: ['red', 'blue'] });
    busy = await getProject(hub.deps, 'busy');
  });
  afterAll(() => hub?.close());
  /** The deps of this hub as seen `ms` from now. */
  const later = (ms: number) => ({ ...hub.deps, now: () => new Date(Date.now() + ms) });

  it.skipIf(skip)('records an import with its images done of all, and a commit, each finished; a failed commit says why in words', async () => {
    const engineer = await hub.as('engineer');
    expect(await refusal(engineer.datasets.commit({ project: 'busy', message: 'nothing yet' }))).toMatchObject({ code: 'BAD_REQUEST' });
    const failed = (await engineer.datasets.activity({ project: 'busy' })).at(-1)!;
    expect(failed).toMatchObject({ kind: 'commit', failed: 'project "busy" has no items to commit', finishedAt: expect.any(String) });

    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-activity-'));
    fs.mkdirSync(path.join(folder, 'red'));
    for (const value of [10, 20, 30]) fs.writeFileSync(path.join(folder, 'red', `${value}.png`), await png(value));
    await importFolder(hub.deps, busy, folder);
    await engineer.datasets.commit({ project: 'busy', message: 'three reds' });
    const kinds = (await engineer.datasets.activity({ project: 'busy' })).map((a) => [a.kind, a.failed === null, a.finishedAt !== null, a.done, a.total]);
    expect(kinds).toEqual([
      ['commit', false, true, 0, null],
      ['import', true, true, 3, 3],
      ['commit', true, true, 0, null],
    ]);
    fs.rmSync(folder, { recursive: true, force: true });
  });

  it.skipIf(skip)('writes a burst of progress once (the latest), then the end; finished work stays listed for a while', async () => {
    const quiet = await getProject(hub.deps, 'quiet');
    const activity = await startActivity(hub.deps, quiet, 'import', 'storing images', 1000);
    const listed = async () => (await activitiesOf(hub.deps, quiet)).find((a) => a.id === activity.id)!;

    for (let done = 1; done <= 600; done++) activity.progress(done);
    await expect.poll(async () => (await listed()).done, { timeout: 10_000 }).toBe(600);
    expect(activity.writes).toBe(1);
    for (let done = 601; done <= 1000; done++) activity.progress(done, 1000, 'adding the items to the working set');
    await expect.poll(async () => (await listed()).step, { timeout: 10_000 }).toBe('adding the items to the working set');
    expect({ writes: activity.writes, done: (await listed()).done, finishedAt: (await listed()).finishedAt }).toEqual({ writes: 2, done: 1000, finishedAt: null });

    await activity.finish();
    expect(activity.writes).toBe(3);
    const finished = await listed();
    expect(finished).toMatchObject({ kind: 'import', done: 1000, total: 1000, failed: null });
    // Progress after the end changes nothing.
    activity.progress(5);
    expect(activity.writes).toBe(3);

    const ids = async (ms: number) => (await activitiesOf(later(ms), quiet)).map((a) => a.id);
    const sinceEnd = Date.now() - finished.finishedAt!.getTime();
    expect(await ids(KEEP_FINISHED_MS - MINUTE - sinceEnd)).toContain(activity.id);
    expect(await ids(KEEP_FINISHED_MS + MINUTE)).not.toContain(activity.id);
  });

  it.skipIf(skip)('running work whose process went silent (killed) is listed as failed: the process running it stopped', async () => {
    const activity = await startActivity(hub.deps, busy, 'commit', 'reading the working set');
    activity.progress(0, null, 'writing the manifest of 3 items');
    await expect.poll(async () => (await activitiesOf(hub.deps, busy)).find((a) => a.id === activity.id)!.step, { timeout: 10_000 }).toBe('writing the manifest of 3 items');
    const running = (await activitiesOf(hub.deps, busy)).find((a) => a.id === activity.id)!;
    expect(running).toMatchObject({ finishedAt: null, failed: null });

    // Nothing more comes from it (its process was killed): minutes later it is failed, ended when it last wrote.
    const lost = (await activitiesOf(later(STALE_AFTER_MS + MINUTE), busy)).find((a) => a.id === activity.id)!;
    expect(lost).toMatchObject({ kind: 'commit', step: 'writing the manifest of 3 items', failed: STALE_WORDS });
    expect(lost.finishedAt!.getTime()).toBeGreaterThanOrEqual(running.startedAt.getTime());
    expect(lost.failed).toMatch(/the process running it stopped/);
    // And like other ended work, it is listed no more after a while, and forgotten by the next start.
    expect((await activitiesOf(later(KEEP_FINISHED_MS + MINUTE), busy)).map((a) => a.id)).not.toContain(activity.id);
    const next = await startActivity(later(KEEP_FINISHED_MS + MINUTE), busy, 'commit', 'reading the working set');
    await next.finish();
    expect((await activitiesOf(hub.deps, busy)).map((a) => a.id)).not.toContain(activity.id);
    await activity.finish();
  });
});

describe.skipIf(DATABASES[1]!.skip)('dataset activities of two hub processes on one PostgreSQL database', () => {
  let hub: TestHub;
  let busy: Project;
  beforeAll(async () => {
    hub = await createTestHub('postgres');
    await (await hub.as('admin')).projects.create({ slug: 'busy', labels: ['red', 'blue'] });
    busy = await getProject(hub.deps, 'busy');
  });
  afterAll(() => hub?.close());

  it('list the same activities, whichever runs them', async () => {
    const second = await openSecondHub(hub);
    try {
      const there = await startActivity(second.deps, busy, 'import', 'storing images', 10);
      there.progress(4);
      const here = await startActivity(hub.deps, busy, 'commit', 'reading the working set');
      const bothSee = async () => JSON.stringify([await activitiesOf(hub.deps, busy), await activitiesOf(second.deps, busy)].map((list) => list.filter((a) => [there.id, here.id].includes(a.id))));
      await expect.poll(async () => JSON.parse(await bothSee())[0].find((a: { id: number }) => a.id === there.id).done, { timeout: 10_000 }).toBe(4);
      const [mine, theirs] = JSON.parse(await bothSee());
      expect(theirs).toEqual(mine);
      expect(mine.map((a: { id: number; finishedAt: unknown }) => [a.id, a.finishedAt])).toEqual([
        [there.id, null],
        [here.id, null],
      ]);

      await there.finish();
      await here.fail('the manifest could not be written');
      const [endedMine, endedTheirs] = JSON.parse(await bothSee());
      expect(endedTheirs).toEqual(endedMine);
      expect(endedMine.map((a: { done: number; failed: string | null }) => [a.done, a.failed])).toEqual([
        [10, null],
        [0, 'the manifest could not be written'],
      ]);
    } finally {
      await second.close();
    }
  });
});
