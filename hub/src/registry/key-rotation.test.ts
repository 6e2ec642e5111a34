import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { channelPointerKey, type SignedEnvelope, type TrustedKeySet, signedEnvelopeSchema } from '@edgeloop/shared';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestHub, createTestHub } from '../../test/test-hub';
import { modelVersions, registeredModels } from '../db/schema';
import { createLogger } from '../logger';
import { fashionSampleVersion, waitForRun } from '../../test/training-helpers';
import { startTrainingWorker } from '../training/training-worker';
import { openKeyRing } from './key-ring';
import type { Caller } from '../deps';
import { startCanary } from './channel.service';
import { retireSigningKey, rotateSigningKey } from './key-rotation.service';
import { verifyEnvelope } from './signing';

/** What a device does: verify with the published key the envelope names; an unknown key id is refused. */
function verifiesWith(set: TrustedKeySet, envelope: SignedEnvelope): boolean {
  const key = set.keys.find((k) => k.keyId === envelope.keyId);
  return key !== undefined && verifyEnvelope(key.publicKey, envelope);
}

describe('signing key rotation with published models', () => {
  let hub: TestHub;
  let runId: string;
  const envelopeAt = async (key: string) => signedEnvelopeSchema.parse(JSON.parse(new TextDecoder().decode((await hub.deps.store.get(key))!)));
  const pointer = (model: string) => envelopeAt(channelPointerKey('fashion', model, 'production'));
  /** The manifest of a version, by its URL under the hub's /cdn route (the store keeps it under cdn/). */
  const manifest = (manifestUrl: string) => envelopeAt(manifestUrl.replace(/^\/cdn\//, 'cdn/'));

  beforeAll(async () => {
    hub = await createTestHub('pglite');
    const worker = await startTrainingWorker(hub.deps, { name: 'test-worker' });
    try {
      const versionId = await fashionSampleVersion(hub);
      const queued = await (await hub.as('engineer')).runs.create({ project: 'fashion', datasetVersion: versionId, train: { epochs: 1, batchSize: 64, seed: 3 } });
      const run = await waitForRun(hub, queued.id, ['succeeded', 'failed']);
      expect(run.error).toBeNull();
      runId = run.id;
    } finally {
      await worker.stop();
    }
  });
  afterAll(() => hub?.close());

  it('rotate: the pointer is re-signed and new versions are signed with the new key; what the old key signed still verifies', async () => {
    const engineer = await hub.as('engineer');
    const v1 = await engineer.registry.publish({ runId, model: 'before' });
    await engineer.registry.promote({ project: 'fashion', model: 'before', channel: 'production', version: v1.version, reason: 'first' });
    const oldKeyId = (await hub.anonymous().registry.publicKeys()).activeKeyId;
    const oldPointer = await pointer('before');
    const oldManifest = await manifest(v1.manifestUrl);
    expect([oldPointer.keyId, oldManifest.keyId]).toEqual([oldKeyId, oldKeyId]);

    const { key, resigned } = await rotateSigningKey(hub.deps);
    expect(resigned.map((s) => `${s.project}/${s.model}/${s.channel}`)).toEqual(['fashion/before/production']);
    const published = await hub.anonymous().registry.publicKeys();
    expect(published.activeKeyId).toBe(key.id);
    expect(published.keys.map((k) => [k.keyId, k.active])).toEqual([
      [key.id, true],
      [oldKeyId, false],
    ]);

    // A device holding the old pointer and manifest still trusts them; the pointer now served says the same, signed anew.
    expect(verifiesWith(published, oldPointer)).toBe(true);
    expect(verifiesWith(published, oldManifest)).toBe(true);
    const resignedPointer = await pointer('before');
    expect(resignedPointer.keyId).toBe(key.id);
    expect(verifiesWith(published, resignedPointer)).toBe(true);
    expect(resignedPointer.payload).toBe(oldPointer.payload);

    const v2 = await engineer.registry.publish({ runId, model: 'after' });
    await engineer.registry.promote({ project: 'fashion', model: 'after', channel: 'production', version: v2.version, reason: 'signed with the new key' });
    const newManifest = await manifest(v2.manifestUrl);
    expect(newManifest.keyId).toBe(key.id);
    expect((await pointer('after')).keyId).toBe(key.id);
    expect(verifiesWith(published, newManifest)).toBe(true);
    expect((await (await hub.as('device')).registry.channel({ project: 'fashion', model: 'after' })).keyId).toBe(key.id);
  });

  it('retire: refused while a channel points at a manifest the key signed (naming it), and with --force no longer published', async () => {
    const published = await hub.anonymous().registry.publicKeys();
    const oldKeyId = published.keys.find((k) => !k.active)!.keyId;
    const oldManifest = await manifest((await (await hub.as('engineer')).registry.versions({ project: 'fashion', model: 'before' })).versions[0]!.manifestUrl);
    expect(oldManifest.keyId).toBe(oldKeyId);

    // "after" (on a version signed with the new key) runs a canary of a v2 whose manifest the old key signed: the row of
    // "before" v1, without training again.
    const models = await hub.deps.db.select().from(registeredModels);
    const modelId = (name: string) => models.find((m) => m.name === name)!.id;
    const [{ id: _id, ...beforeV1 }] = (await hub.deps.db.select().from(modelVersions).where(eq(modelVersions.modelId, modelId('before')))) as [typeof modelVersions.$inferSelect];
    await hub.deps.db.insert(modelVersions).values({ ...beforeV1, modelId: modelId('after'), version: 2 });
    const engineer: Caller = { tokenId: null, name: 'test-engineer', role: 'engineer', projects: null };
    await startCanary(hub.deps, engineer, { project: 'fashion', model: 'after', channel: 'production', version: 2, share: 0.1, reason: 'v2 to a tenth of the devices' });

    await expect(retireSigningKey(hub.deps, published.activeKeyId)).rejects.toThrow(/is the active signing key: rotate first/);
    const refusal = retireSigningKey(hub.deps, oldKeyId);
    await expect(refusal).rejects.toThrow(new RegExp(`key ${oldKeyId} signed the manifests these channels point to.*fashion/after production -> v1 \\(canary v2\\), fashion/before production -> v1`));
    expect((await hub.anonymous().registry.publicKeys()).keys).toHaveLength(2);

    const { broken } = await retireSigningKey(hub.deps, oldKeyId, { force: true });
    expect(broken.map((s) => `${s.model}/${s.channel}`)).toEqual(['after/production', 'before/production']);
    const after = await hub.anonymous().registry.publicKeys();
    expect(after.keys.map((k) => k.keyId)).toEqual([published.activeKeyId]);
    expect(verifiesWith(after, oldManifest)).toBe(false);
    expect(verifiesWith(after, await pointer('after'))).toBe(true);
  });

  it('retiring a key that is already retired changes nothing (no misleading refusal about channels)', async () => {
    const retired = (await hub.deps.keys.list()).find((k) => k.state === 'retired')!;
    expect(await retireSigningKey(hub.deps, retired.id)).toMatchObject({ key: { id: retired.id, state: 'retired' }, broken: [], resigned: [] });
  });

  it('a promote or a rollback to a version whose manifest a retired key signed is refused, naming the version and the key', async () => {
    const engineer = await hub.as('engineer');
    const retiredId = (await hub.deps.keys.list()).find((k) => k.state === 'retired')!.id;
    // A second version of "before", signed with the active key, without training again: the row of "after" v1.
    const models = await hub.deps.db.select().from(registeredModels);
    const modelId = (name: string) => models.find((m) => m.name === name)!.id;
    const [{ id: _id, ...afterV1 }] = (await hub.deps.db.select().from(modelVersions).where(and(eq(modelVersions.modelId, modelId('after')), eq(modelVersions.version, 1)))) as [typeof modelVersions.$inferSelect];
    await hub.deps.db.insert(modelVersions).values({ ...afterV1, modelId: modelId('before'), version: 2 });
    const ref = { project: 'fashion', model: 'before', channel: 'production' };
    await engineer.registry.promote({ ...ref, version: 2, reason: 'signed with the active key' });

    const refusal = `v1 is signed by retired key ${retiredId}; devices would refuse it`;
    // Named before anyone tries: the CLI's target and the admin's rollback button.
    expect(await engineer.registry.rollbackTarget(ref)).toMatchObject({ from: 2, to: null, reason: expect.stringContaining(refusal) });
    expect((await engineer.registry.versions(ref)).channels).toEqual([expect.objectContaining({ name: 'production', rollbackTo: null, rollbackRefusal: expect.stringContaining(refusal) })]);
    await expect(engineer.registry.rollback({ ...ref, reason: 'emergency' })).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining(refusal) });
    await expect(engineer.registry.promote({ ...ref, channel: 'staging', version: 1, reason: 'try' })).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining(refusal) });
    expect((await engineer.registry.channel({ project: 'fashion', model: 'before' })).version.version).toBe(2);
  });

  it('a keys directory without the key refuses to start while the database has published versions, writing nothing; key init --new overrides', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-keys-elsewhere-'));
    try {
      const ring = openKeyRing({ dir, db: hub.deps.db, log: createLogger('silent') });
      await expect(ring.ready()).rejects.toThrow(/SIGNING_KEYS_DIR.*edgeloop key init --new/s);
      expect(fs.readdirSync(dir)).toEqual([]);
      await ring.init({ newKey: true });
      expect((await ring.list()).map((k) => k.state)).toEqual(['active']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('edgeloop key', () => {
  const cli = (dataDir: string, args: string[]) =>
    promisify(execFile)(process.execPath, [path.join(import.meta.dirname, '../../bin/edgeloop.js'), 'key', ...args], {
      env: { ...process.env, HUB_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    });

  it('rotates, lists and retires keys in the data directory, and refuses to retire the active key', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-keys-cli-'));
    try {
      const rotated = (await cli(dataDir, ['rotate'])).stdout.trim();
      expect(rotated).toMatch(/^[0-9a-f]{16}$/);
      const listed = (await cli(dataDir, ['list'])).stdout;
      const first = [...listed.matchAll(/([0-9a-f]{16})\W+trusted/g)].map((m) => m[1]!);
      expect(first).toHaveLength(1);
      expect(listed).toMatch(new RegExp(`${rotated}\\W+active`));
      await expect(cli(dataDir, ['retire', rotated])).rejects.toMatchObject({ stderr: expect.stringContaining(`key ${rotated} is the active signing key: rotate first`) });
      expect((await cli(dataDir, ['retire', first[0]!])).stdout.trim()).toBe(`retired ${first[0]}`);
      expect(fs.readdirSync(path.join(dataDir, 'keys')).sort()).toEqual([`${rotated}.pem`, 'keyring.json']);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
