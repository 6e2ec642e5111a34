/**
 * A channel's canary moves through the API: what starting one refuses, the signed pointer naming the candidate while it
 * runs, decisions by hand with who and why, hand moves ending a canary first, and rollback ignoring canary moves.
 */
import { channelPointerKey, channelPointerSchema, signedEnvelopeSchema, versionDir } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishedVersion } from '../../test/published-version';
import { DATABASES, type TestHub, createTestHub, refusal } from '../../test/test-hub';
import { formatCanaryState } from '../cli/canary-command';

const MODEL = 'mdl';

describe.each(DATABASES)('canaries on $kind', ({ kind, skip }) => {
  let hub: TestHub;
  let engineer: Awaited<ReturnType<TestHub['as']>>;
  const ref = (project: string) => ({ project, model: MODEL, channel: 'production' });

  async function pointer(project: string) {
    const bytes = await hub.deps.store.get(channelPointerKey(project, MODEL, 'production'));
    return channelPointerSchema.parse(JSON.parse(signedEnvelopeSchema.parse(JSON.parse(new TextDecoder().decode(bytes!))).payload));
  }

  async function seed(project: string, versions: number): Promise<void> {
    await (await hub.as('admin')).projects.create({ slug: project, labels: ['a', 'b'] });
    for (let version = 1; version <= versions; version++) await publishedVersion(hub.deps, project, MODEL, version);
  }

  beforeAll(async () => {
    if (skip) return;
    hub = await createTestHub(kind);
    engineer = await hub.as('engineer');
  });
  afterAll(() => hub?.close());

  it.skipIf(skip)('refuses a canary without a current version, of the current version, beside a running one, outside (0, 1), or signed by a key devices refuse', async () => {
    await seed('refusals', 4);
    const start = (version: number, share = 0.1) => engineer.registry.canary.start({ ...ref('refusals'), version, share, reason: 'try' });
    expect(await refusal(start(2))).toEqual({ code: 'CONFLICT', message: expect.stringContaining('channel "production" of "mdl" points to no version yet: promote one first') });
    await engineer.registry.promote({ ...ref('refusals'), version: 1, reason: 'first' });
    expect(await refusal(start(1))).toEqual({ code: 'CONFLICT', message: 'channel "production" already runs v1 on every device: a canary needs another version' });
    for (const share of [0, 1, -0.5, 1.5]) {
      expect(await refusal(start(2, share))).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/^share: share must be (above 0|below 1)/) });
    }
    expect(await refusal(start(9))).toEqual({ code: 'NOT_FOUND', message: 'model "mdl" has no version 9' });

    // v3's manifest names a key this hub does not know (as one signed by a retired key): devices would refuse it.
    await hub.deps.store.put(`${versionDir('refusals', MODEL, 3)}manifest.json`, new TextEncoder().encode(JSON.stringify({ payload: '{}', signature: 'AA==', keyId: 'gone-key' })), {
      contentType: 'application/json',
    });
    expect(await refusal(start(3))).toEqual({ code: 'CONFLICT', message: expect.stringContaining('v3 is signed by key gone-key, which this hub does not know; devices would refuse it') });

    await start(2, 0.2);
    expect(await refusal(start(4))).toEqual({ code: 'CONFLICT', message: expect.stringMatching(/^a canary of v2 \(20% of devices, since \S+\) is already running on channel "production": promote or abort it first$/) });
  });

  it.skipIf(skip)('names the candidate in the signed pointer while the canary runs, and a later move time at each change', async () => {
    await seed('pointer', 2);
    await engineer.registry.promote({ ...ref('pointer'), version: 1, reason: 'first' });
    const before = await pointer('pointer');
    expect(before.candidate).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const started = await engineer.registry.canary.start({ ...ref('pointer'), version: 2, share: 0.1, reason: 'try v2 on a few' });
    expect(started).toMatchObject({ channel: 'production', version: 1, candidate: { version: 2, share: 0.1, canaryEvents: 0 }, lastDecision: null });
    expect(started.verdict).toMatchObject({ decision: 'wait', automatic: true, minCanaryEvents: 200 });
    const during = await pointer('pointer');
    expect(during).toMatchObject({ version: 1, manifestSha256: before.manifestSha256, candidate: { version: 2, share: 0.1, since: started.candidate!.since, manifestPath: '../v2/manifest.json' } });
    // A device refuses a pointer moved before the one it holds: every pointer change carries a later time.
    expect(Date.parse(during.movedAt)).toBeGreaterThan(Date.parse(before.movedAt));
    expect(formatCanaryState(started)).toContain('production: canary of v2 on 10% of devices since');

    await new Promise((resolve) => setTimeout(resolve, 5));
    const aborted = await engineer.registry.canary.decide({ ...ref('pointer'), decision: 'abort', reason: 'users complained', version: 2 });
    expect(aborted).toMatchObject({ version: 1, candidate: null, groups: null, verdict: null, lastDecision: { version: 2, decision: 'rolled-back', reason: 'users complained', by: 'test-engineer' } });
    const after = await pointer('pointer');
    expect(after.candidate).toBeUndefined();
    expect(Date.parse(after.movedAt)).toBeGreaterThan(Date.parse(during.movedAt));
    expect(await refusal(engineer.registry.canary.decide({ ...ref('pointer'), decision: 'promote', reason: 'late' }))).toEqual({
      code: 'CONFLICT',
      message: 'no canary is running on channel "production" of "mdl": start one first',
    });
  });

  it.skipIf(skip)('promotes a candidate by hand as a promote a rollback undoes, and refuses a decision about another candidate', async () => {
    await seed('decide', 3);
    await engineer.registry.promote({ ...ref('decide'), version: 1, reason: 'first' });
    await engineer.registry.canary.start({ ...ref('decide'), version: 3, share: 0.5, reason: 'half the devices' });
    expect(await refusal(engineer.registry.canary.decide({ ...ref('decide'), decision: 'promote', reason: 'x', version: 2 }))).toEqual({
      code: 'CONFLICT',
      message: 'the canary on channel "production" is of v3 by now, not v2; check and decide again',
    });
    const promoted = await engineer.registry.canary.decide({ ...ref('decide'), decision: 'promote', reason: 'numbers look right', version: 3 });
    expect(promoted).toMatchObject({ version: 3, candidate: null, lastDecision: { version: 3, decision: 'promoted', reason: 'numbers look right', by: 'test-engineer' } });
    expect(await pointer('decide')).toMatchObject({ version: 3 });
    const { history, channels } = await engineer.registry.versions({ project: 'decide', model: MODEL });
    expect(channels).toEqual([expect.objectContaining({ name: 'production', version: 3, candidate: null, rollbackTo: 1 })]);
    expect(history.map((h) => [h.action, h.from, h.to, h.reason])).toEqual([
      ['promote', 1, 3, 'numbers look right'],
      ['canary', 1, 3, 'half the devices'],
      ['promote', null, 1, 'first'],
    ]);
    expect((await engineer.registry.rollback({ ...ref('decide'), reason: 'undo' })).version.version).toBe(1);
  });

  it.skipIf(skip)('a hand promote or rollback while a canary runs ends it first, recorded as canary-abort with the reason', async () => {
    await seed('hand', 4);
    await engineer.registry.promote({ ...ref('hand'), version: 1, reason: 'first' });
    await engineer.registry.promote({ ...ref('hand'), version: 2, reason: 'second' });
    await engineer.registry.canary.start({ ...ref('hand'), version: 3, share: 0.1, reason: 'try v3' });
    expect((await engineer.registry.versions({ project: 'hand', model: MODEL })).channels[0]!.candidate).toMatchObject({ version: 3, share: 0.1 });
    // Canary moves are not steps of the rollback stack: a rollback still goes to v1.
    expect(await engineer.registry.rollbackTarget(ref('hand'))).toMatchObject({ from: 2, to: 1 });
    await engineer.registry.rollback({ ...ref('hand'), reason: 'v2 is broken' });
    expect(await pointer('hand')).toMatchObject({ version: 1 });
    expect((await pointer('hand')).candidate).toBeUndefined();

    await engineer.registry.canary.start({ ...ref('hand'), version: 4, share: 0.3, reason: 'try v4' });
    await engineer.registry.promote({ ...ref('hand'), version: 4, reason: 'everyone now' });
    const { history } = await engineer.registry.versions({ project: 'hand', model: MODEL });
    expect(history.map((h) => [h.action, h.from, h.to, h.reason])).toEqual([
      ['promote', 1, 4, 'everyone now'],
      ['canary-abort', 4, 1, 'ended by a promote by hand: everyone now'],
      ['canary', 1, 4, 'try v4'],
      ['rollback', 2, 1, 'v2 is broken'],
      ['canary-abort', 3, 2, 'ended by a rollback by hand: v2 is broken'],
      ['canary', 2, 3, 'try v3'],
      ['promote', 1, 2, 'second'],
      ['promote', null, 1, 'first'],
    ]);
    expect((await engineer.registry.canary.state(ref('hand'))).lastDecision).toMatchObject({ version: 4, decision: 'rolled-back', reason: 'ended by a promote by hand: everyone now' });
    // The rollback stack: first, second, (rollback), everyone now -> a rollback goes back to v1.
    expect(await engineer.registry.rollbackTarget(ref('hand'))).toMatchObject({ from: 4, to: 1 });
  });

  it.skipIf(skip)('lets ci start and read a canary but not decide one', async () => {
    await seed('ci-scope', 2);
    await engineer.registry.promote({ ...ref('ci-scope'), version: 1, reason: 'first' });
    const ci = await hub.as('ci', { projects: ['ci-scope'] });
    expect((await ci.registry.canary.start({ ...ref('ci-scope'), version: 2, reason: 'from CI' })).candidate).toMatchObject({ version: 2, share: 0.1 });
    expect((await ci.registry.canary.state(ref('ci-scope'))).candidate).toMatchObject({ version: 2 });
    expect(await refusal(ci.registry.canary.decide({ ...ref('ci-scope'), decision: 'promote', reason: 'x' }))).toMatchObject({ code: 'FORBIDDEN' });
    const device = await hub.as('device', { projects: ['ci-scope'] });
    expect(await refusal(device.registry.canary.state(ref('ci-scope')))).toMatchObject({ code: 'FORBIDDEN' });
  });
});
