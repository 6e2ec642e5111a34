import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, type TestHub, createTestHub } from '../../test/test-hub';
import * as tokens from './token.repository';

describe.each(DATABASES)('the api_tokens table owner on $kind', ({ kind, skip }) => {
  let hub: TestHub;
  const at = new Date('2026-01-02T03:04:05.000Z');

  beforeAll(async () => {
    if (skip) return;
    hub = await createTestHub(kind);
  });
  afterAll(() => hub?.close());

  it.skipIf(skip)('never hands the secret hash back, and a revoked token is no longer used', async () => {
    const created = await tokens.create(hub.deps.db, { name: 'ci', role: 'engineer', secretHash: 'h'.repeat(64), createdBy: 'test', createdAt: at, projectIds: null });
    expect(created).not.toHaveProperty('secretHash');
    expect(await tokens.markUsed(hub.deps.db, 'h'.repeat(64), at)).toEqual({ id: created.id, name: 'ci', role: 'engineer', projectIds: null });
    const lastUse = async () => (await tokens.list(hub.deps.db)).find((t) => t.id === created.id)!.lastUsedAt;
    expect(await lastUse()).toEqual(at);
    // Within the minute a use is not written again; a minute later it is.
    const soon = new Date(at.getTime() + tokens.LAST_USE_RESOLUTION_MS - 1);
    expect(await tokens.markUsed(hub.deps.db, 'h'.repeat(64), soon)).toMatchObject({ id: created.id });
    expect(await lastUse()).toEqual(at);
    const later = new Date(at.getTime() + tokens.LAST_USE_RESOLUTION_MS);
    await tokens.markUsed(hub.deps.db, 'h'.repeat(64), later);
    expect(await lastUse()).toEqual(later);
    expect((await tokens.list(hub.deps.db)).find((t) => t.id === created.id)).toEqual({ ...created, lastUsedAt: later });
    expect(await tokens.revoke(hub.deps.db, created.id, at)).toMatchObject({ id: created.id, revokedAt: at });
    expect(await tokens.revoke(hub.deps.db, created.id, at)).toBeNull();
    expect(await tokens.markUsed(hub.deps.db, 'h'.repeat(64), at)).toBeNull();
  });
});
