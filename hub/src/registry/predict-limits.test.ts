/** Server-side prediction is the hub's most expensive call per byte: its image size and call rate are bounded. */
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { solidPng } from '../../test/image-bomb';
import { type TestHub, createTestHub } from '../../test/test-hub';
import { PREDICT_BURST, PREDICT_PER_SECOND } from './predict.service';

async function failure(call: Promise<unknown>): Promise<TRPCError> {
  const error = await call.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(TRPCError);
  return error as TRPCError;
}

describe('registry.predict limits', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await createTestHub('pglite');
    await (await hub.as('admin')).projects.create({ slug: 'pets', labels: ['cat', 'dog'] });
  });
  afterAll(() => hub?.close());

  it("refuses an image above the project's pixel limit from its header, before loading a model or decoding", async () => {
    const engineer = await hub.as('engineer');
    const bomb = (await solidPng(16_000, 16_000)).toString('base64');
    const started = performance.now();
    const refused = await failure(engineer.registry.predict({ project: 'pets', model: 'pets', version: 1, imageBase64: bomb }));
    expect(refused.code).toBe('PAYLOAD_TOO_LARGE');
    expect(refused.message).toBe('imageBase64 is 16000 x 16000 = 256000000 pixels; the project accepts at most 16777216 (maxImagePixels)');
    // It used to take 5.4 s of CPU per call to decode.
    expect(performance.now() - started).toBeLessThan(1_000);
    // A small image gets past the check (to the missing model).
    const small = (await solidPng(32, 32)).toString('base64');
    expect((await failure(engineer.registry.predict({ project: 'pets', model: 'pets', version: 1, imageBase64: small }))).code).toBe('NOT_FOUND');
  });

  it(`lets each token call ${PREDICT_BURST} times at once, then ${PREDICT_PER_SECOND} a second, with a retry hint`, async () => {
    const realNow = hub.deps.now;
    let now = new Date('2026-11-30T12:00:00Z').getTime();
    hub.deps.now = () => new Date(now);
    try {
      const device = await hub.as('device');
      const call = () => device.registry.predict({ project: 'pets', model: 'no-model', imageBase64: 'aGVsbG8=' });
      for (let i = 0; i < PREDICT_BURST; i++) expect((await failure(call())).code).not.toBe('TOO_MANY_REQUESTS');
      const limited = await failure(call());
      expect(limited.code).toBe('TOO_MANY_REQUESTS');
      expect(limited.message).toBe(`registry.predict: at most ${PREDICT_BURST} calls at once and ${PREDICT_PER_SECOND} per second per token; retry in 0.2 s`);
      // Another token has its own bucket.
      expect((await failure((await hub.as('labeler')).registry.predict({ project: 'pets', model: 'no-model', imageBase64: 'aGVsbG8=' }))).code).toBe('BAD_REQUEST');
      now += 1000 / PREDICT_PER_SECOND;
      expect((await failure(call())).code).not.toBe('TOO_MANY_REQUESTS');
      expect((await failure(call())).code).toBe('TOO_MANY_REQUESTS');
    } finally {
      hub.deps.now = realNow;
    }
  });
});
