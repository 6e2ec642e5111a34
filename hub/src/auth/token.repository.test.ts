import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, type TestHub, createTestHub } from '../../test/test-hub';
import * as tokens from './token.repository';

/** Rows of either driver's execute() answer. */
const rowsOf = (answer: unknown) => (Array.isArray(answer) ? answer : (answer as { rows: unknown[] }).rows) as { slug: string; id: string }[];

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
    expect(await tokens.markUsed(hub.deps.db, 'h'.repeat(64), at)).toEqual({ id: created.id, name: 'ci', role: 'engineer', projectIds: null, projectSlugs: null });
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

  it.skipIf(skip)("names a scoped token's projects by their slugs as they are now, sorted, leaving deleted ones out", async () => {
    const engineer = await hub.as('engineer');
    await engineer.projects.create({ slug: 'zebra', labels: ['a', 'b'] });
    await engineer.projects.create({ slug: 'apple', labels: ['a', 'b'] });
    const ids = Object.fromEntries((await hub.deps.db.execute(sql`select slug, id from projects`).then(rowsOf)).map((r) => [r.slug, r.id]));
    const gone = '00000000-0000-4000-8000-000000000000';
    await tokens.create(hub.deps.db, { name: 'phone', role: 'device', secretHash: 'd'.repeat(64), createdBy: 'test', createdAt: at, projectIds: [ids.zebra!, gone, ids.apple!] });
    expect(await tokens.markUsed(hub.deps.db, 'd'.repeat(64), at)).toMatchObject({ name: 'phone', projectSlugs: ['apple', 'zebra'] });
    await tokens.create(hub.deps.db, { name: 'orphan', role: 'device', secretHash: 'e'.repeat(64), createdBy: 'test', createdAt: at, projectIds: [gone] });
    expect(await tokens.markUsed(hub.deps.db, 'e'.repeat(64), at)).toMatchObject({ name: 'orphan', projectSlugs: [] });
  });
});
