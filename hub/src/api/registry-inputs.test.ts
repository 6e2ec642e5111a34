/** Model version numbers the registry takes are checked against what the database stores before any query. */
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestHub, createTestHub } from '../../test/test-hub';

describe('registry version numbers', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await createTestHub('pglite');
    await (await hub.as('admin')).projects.create({ slug: 'pets', labels: ['cat', 'dog'] });
  });
  afterAll(() => hub?.close());

  it("refuses a version past PostgreSQL's integer with the field, where the query used to fail with a 500", async () => {
    const engineer = await hub.as('engineer');
    const ref = { project: 'pets', model: 'pets', channel: 'production', reason: 'test' };
    for (const version of [2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
      const calls: [string, Promise<unknown>][] = [
        ['version', engineer.registry.promote({ ...ref, version })],
        ['to', engineer.registry.rollback({ ...ref, to: version })],
        ['version', engineer.registry.predict({ project: 'pets', model: 'pets', version, imageBase64: 'aGVsbG8=' })],
      ];
      for (const [field, call] of calls) {
        const error = await call.catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TRPCError);
        expect([(error as TRPCError).code, (error as TRPCError).message]).toEqual(['BAD_REQUEST', `${field}: must be a model version number of at most 2147483647`]);
      }
    }
  });
});
