import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestHub, createTestHub, refusal } from '../../test/test-hub';
import { authenticate } from './token.service';

describe('listing tokens, a page at a time', () => {
  let hub: TestHub;
  let clock = new Date('2026-11-30T08:00:00.000Z');

  beforeAll(async () => {
    hub = await createTestHub('pglite');
    hub.deps.now = () => clock;
  });
  afterAll(() => hub.close());

  it('pages newest first with the total, says the scope and the last use, filters by status, and never sends a secret or hash', async () => {
    const admin = await hub.as('admin');
    await admin.projects.create({ slug: 'shop', labels: ['a', 'b'] });
    const made: { token: { id: string }; secret: string }[] = [];
    for (let i = 0; i < 7; i++) {
      clock = new Date(clock.getTime() + 60_000);
      made.push(await admin.auth.createToken({ name: `tablet-${i}`, role: 'device', projects: ['shop'] }));
    }
    const first = await admin.auth.listTokens({ limit: 3 });
    const all = (await admin.auth.listTokens({ limit: 100 })).tokens;
    expect(first.total).toBe(all.length);
    expect(first.tokens.map((t) => t.name)).toEqual(['tablet-6', 'tablet-5', 'tablet-4']);
    const pages = [first, await admin.auth.listTokens({ limit: 3, offset: 3 }), await admin.auth.listTokens({ limit: 3, offset: 6 })];
    expect(pages.flatMap((p) => p.tokens.map((t) => t.id))).toEqual(all.slice(0, 9).map((t) => t.id));
    expect(first.tokens[0]).toEqual({ id: made[6]!.token.id, name: 'tablet-6', role: 'device', createdBy: 'test-admin', createdAt: clock.toISOString(), lastUsedAt: null, revokedAt: null, projects: ['shop'] });
    expect(JSON.stringify(all)).not.toMatch(/elt_|secret|hash/i);

    // A use is recorded (to the minute) and listed.
    clock = new Date(clock.getTime() + 5 * 60_000);
    expect(await authenticate(hub.deps, made[2]!.secret)).toMatchObject({ name: 'tablet-2' });
    const used = (await admin.auth.listTokens({ limit: 100 })).tokens.find((t) => t.id === made[2]!.token.id)!;
    expect(used.lastUsedAt).toBe(clock.toISOString());

    // Revoked: listed as revoked, refused from then on.
    await admin.auth.revokeToken({ id: made[2]!.token.id });
    expect(await authenticate(hub.deps, made[2]!.secret)).toBeNull();
    const revoked = await admin.auth.listTokens({ status: 'revoked' });
    expect(revoked.tokens.map((t) => [t.name, t.revokedAt])).toEqual([['tablet-2', clock.toISOString()]]);
    expect(revoked.total).toBe(1);
    const active = await admin.auth.listTokens({ status: 'active', limit: 100 });
    expect(active.total).toBe(all.length - 1);
    expect(active.tokens.map((t) => t.id)).not.toContain(made[2]!.token.id);
  });

  it('refuses pages out of bounds, naming the field and the valid values', async () => {
    const admin = await hub.as('admin');
    expect(await refusal(admin.auth.listTokens({ limit: 1000 }))).toEqual({ code: 'BAD_REQUEST', message: 'limit: limit must be at most 100' });
    expect(await refusal(admin.auth.listTokens({ offset: -1 }))).toEqual({ code: 'BAD_REQUEST', message: 'offset: offset must be 0 or more' });
    expect((await refusal(admin.auth.listTokens({ status: 'gone' as 'all' })))?.message).toBe('status: status must be one of all, active, revoked');
  });
});
