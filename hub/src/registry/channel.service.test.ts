import { channelPointerKey, versionDir, channelPointerSchema, manifestFileName, signedEnvelopeSchema } from '@edgeloop/shared';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORED_RUN_CONFIGS } from '../../test/published-version';
import { DATABASES, type TestHub, createTestHub } from '../../test/test-hub';
import { withAdvisoryLock } from '../db/advisory-lock';
import { datasetVersions, modelVersions, registeredModels, runs } from '../db/schema';
import { getProject } from '../projects/project.service';
import { startHousekeeping } from '../housekeeping';
import { channelLockKey } from './channel.repository';
import { rebuildChannelPointers, writeChannelPointer } from './channel.service';

/** A registered model with `count` versions, without training: the rows a publish would leave (the channel code reads only these). */
async function seedModel(hub: TestHub, project: string, model: string, count: number): Promise<void> {
  await (await hub.as('admin')).projects.create({ slug: project, labels: ['a', 'b'] });
  const { id: projectId } = await getProject(hub.deps, project);
  const datasetId = `seed-${project}`;
  await hub.deps.db.insert(datasetVersions).values({ id: datasetId, projectId, message: 'seed', itemCount: 0, counts: {}, manifestBytes: 0, createdBy: 'test' });
  const [run] = await hub.deps.db.insert(runs).values({ projectId, datasetVersionId: datasetId, status: 'succeeded', ...STORED_RUN_CONFIGS, createdBy: 'test' }).returning();
  const [registered] = await hub.deps.db.insert(registeredModels).values({ projectId, name: model, createdBy: 'test' }).returning();
  for (let version = 1; version <= count; version++) {
    await hub.deps.db.insert(modelVersions).values({
      modelId: registered!.id,
      version,
      runId: run!.id,
      manifestKey: `${versionDir(project, model, version)}${manifestFileName(String(version).padStart(16, '0'))}`,
      manifestSha256: String(version).repeat(64).slice(0, 64),
      recommended: 'float32',
      formats: {},
      metrics: {},
      createdBy: 'test',
    });
  }
}

describe.each(DATABASES)('channel moves on $kind', ({ kind, skip }) => {
  let hub: TestHub;
  let engineer: Awaited<ReturnType<TestHub['as']>>;
  const ref = (project: string) => ({ project, model: 'mdl', channel: 'production' });

  async function pointerVersion(project: string, channel = 'production'): Promise<number | null> {
    const bytes = await hub.deps.store.get(channelPointerKey(project, 'mdl', channel));
    if (!bytes) return null;
    const envelope = signedEnvelopeSchema.parse(JSON.parse(new TextDecoder().decode(bytes)));
    return channelPointerSchema.parse(JSON.parse(envelope.payload)).version;
  }
  const databaseVersion = async (project: string) => (await engineer.registry.channel(ref(project))).version.version;

  beforeAll(async () => {
    if (skip) return;
    hub = await createTestHub(kind);
    engineer = await hub.as('engineer');
  });
  afterAll(() => hub?.close());

  it.skipIf(skip)('concurrent promotes leave the pointer file on the version the database holds, every round', async () => {
    await seedModel(hub, 'race', 'mdl', 4);
    const admin = await hub.as('admin');
    const ci = await hub.as('ci');
    const callers = [engineer, admin, ci, engineer];
    const mismatches: string[] = [];
    for (let round = 0; round < 30; round++) {
      const order = [1, 2, 3, 4].sort(() => Math.random() - 0.5);
      await Promise.all(order.map((version, i) => callers[i]!.registry.promote({ ...ref('race'), version, reason: `round ${round}` })));
      const [pointer, database] = [await pointerVersion('race'), await databaseVersion('race')];
      if (pointer !== database) mismatches.push(`round ${round}: pointer v${pointer}, database v${database}`);
    }
    expect(mismatches).toEqual([]);
  });

  it.skipIf(skip)('a deleted or stale pointer file is rebuilt from the database at start', async () => {
    await seedModel(hub, 'heal', 'mdl', 3);
    await engineer.registry.promote({ ...ref('heal'), version: 1, reason: 'first' });
    const stale = await hub.deps.store.get(channelPointerKey('heal', 'mdl', 'production'));
    await engineer.registry.promote({ ...ref('heal'), version: 3, reason: 'second' });
    await engineer.registry.promote({ ...ref('heal'), channel: 'staging', version: 2, reason: 'try' });
    // As after a crash between a move's commit and its pointer write: the file still names the earlier version.
    await hub.deps.store.put(channelPointerKey('heal', 'mdl', 'production'), stale!, { contentType: 'application/json' });
    await hub.deps.store.delete(channelPointerKey('heal', 'mdl', 'staging'));
    expect([await pointerVersion('heal'), await pointerVersion('heal', 'staging')]).toEqual([1, null]);

    // What the hub does when it starts.
    const housekeeping = startHousekeeping(hub.deps);
    await housekeeping.started;
    await housekeeping.stop();
    expect([await pointerVersion('heal'), await pointerVersion('heal', 'staging')]).toEqual([3, 2]);
    // Up-to-date files are left alone.
    expect(await rebuildChannelPointers(hub.deps)).toBe(0);
  });

  it.skipIf(skip)('rolling back twice walks back along the promotion history and never rolls forward', async () => {
    await seedModel(hub, 'walk', 'mdl', 3);
    const target = () => engineer.registry.rollbackTarget(ref('walk'));
    const versions = async () => (await engineer.registry.versions({ project: 'walk', model: 'mdl' })).channels.find((c) => c.name === 'production');
    const back = (reason: string) => engineer.registry.rollback({ ...ref('walk'), reason });

    expect(await target()).toMatchObject({ from: null, to: null, reason: expect.stringContaining('has never been promoted') });
    await engineer.registry.promote({ ...ref('walk'), version: 1, reason: 'first' });
    expect(await target()).toMatchObject({ from: 1, to: null, reason: expect.stringContaining('no earlier version') });
    await engineer.registry.promote({ ...ref('walk'), version: 2, reason: 'second' });
    await engineer.registry.promote({ ...ref('walk'), version: 3, reason: 'third' });
    expect(await target()).toEqual({ channel: 'production', from: 3, to: 2, reason: null });
    // Promoting where it already points is no move: nothing for a rollback to undo.
    await engineer.registry.promote({ ...ref('walk'), version: 3, reason: 'again' });
    expect(await target()).toEqual({ channel: 'production', from: 3, to: 2, reason: null });
    expect(await versions()).toMatchObject({ version: 3, rollbackTo: 2 });

    expect((await back('v3 regressed')).version.version).toBe(2);
    expect(await target()).toMatchObject({ from: 2, to: 1 });
    expect((await back('v2 regressed too')).version.version).toBe(1);
    expect(await versions()).toMatchObject({ version: 1, rollbackTo: null });
    // The bug: a third rollback went forward to v2 (the channel's previous pointer), logged as a rollback.
    await expect(back('again')).rejects.toThrow(/no earlier version to roll back to/);
    expect(await databaseVersion('walk')).toBe(1);
    expect(await pointerVersion('walk')).toBe(1);

    // A promote after rollbacks is undone by the next rollback; the older history stays undone.
    await engineer.registry.promote({ ...ref('walk'), version: 3, reason: 'fixed' });
    expect(await target()).toMatchObject({ from: 3, to: 1 });
    expect((await back('not fixed')).version.version).toBe(1);
    const history = (await engineer.registry.versions({ project: 'walk', model: 'mdl' })).history;
    expect(history.slice(0, 3)).toMatchObject([
      { action: 'rollback', from: 3, to: 1 },
      { action: 'promote', from: 1, to: 3 },
      { action: 'rollback', from: 2, to: 1 },
    ]);
  });

  it.skipIf(skip)('only admins and engineers may ask where a rollback goes', async () => {
    for (const role of ['ci', 'device', 'labeler'] as const) {
      await expect((await hub.as(role)).registry.rollbackTarget(ref('walk'))).rejects.toThrow(/may not call this/);
    }
  });

  // A transaction of another connection holds the channel's lock: PostgreSQL only, as PGlite has a single connection.
  if (kind === 'postgres') it.skipIf(skip)('a pointer write that waited for the channel lock signs with the key active once it holds it', async () => {
    await seedModel(hub, 'rotating', 'mdl', 1);
    await engineer.registry.promote({ ...ref('rotating'), version: 1, reason: 'first' });
    const [model] = await hub.deps.db.select().from(registeredModels).where(eq(registeredModels.projectId, (await getProject(hub.deps, 'rotating')).id));
    const modelId = model!.id;
    let write: Promise<boolean> | undefined;
    let rotatedId = '';
    await withAdvisoryLock(hub.deps.db, channelLockKey(modelId, 'production'), async () => {
      write = writeChannelPointer(hub.deps, ref('rotating'), modelId);
      await new Promise((resolve) => setTimeout(resolve, 300));
      // A rotation (whose re-signing of this pointer would also wait for the lock) lands while the write waits.
      rotatedId = (await hub.deps.keys.rotate()).id;
    });
    expect(await write).toBe(true);
    const envelope = signedEnvelopeSchema.parse(JSON.parse(new TextDecoder().decode((await hub.deps.store.get(channelPointerKey('rotating', 'mdl', 'production')))!)));
    expect(envelope.keyId).toBe(rotatedId);
  });
});
