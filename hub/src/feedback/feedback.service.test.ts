import crypto from 'node:crypto';
import { type PredictionEvent, embeddingFromBytes } from '@edgeloop/shared';
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, inArray } from 'drizzle-orm';
import { publishedVersion } from '../../test/published-version';
import { DATABASES, type TestHub, createTestHub } from '../../test/test-hub';
import { predictions } from '../db/schema';

const LABELS = ['cat', 'dog', 'bird'];

function prediction(overrides: Partial<PredictionEvent> = {}): PredictionEvent {
  return {
    id: crypto.randomUUID(),
    model: 'pets',
    version: 1,
    backend: 'webgpu',
    latencyMs: 3.5,
    top: [
      { label: 'dog', probability: 0.7 },
      { label: 'cat', probability: 0.2 },
    ],
    embedding: [0.5, -1.25, 3],
    source: 'file',
    createdAt: new Date('2026-11-20T10:00:00Z').toISOString(),
    ...overrides,
  };
}

async function rejection(call: Promise<unknown>): Promise<TRPCError> {
  const error = await call.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(TRPCError);
  return error as TRPCError;
}

describe.each(DATABASES)('feedback on $kind', ({ kind, skip }) => {
  let hub: TestHub;
  beforeAll(async () => {
    if (skip) return;
    hub = await createTestHub(kind);
    await (await hub.as('engineer')).projects.create({ slug: 'pets', labels: LABELS });
    await publishedVersion(hub.deps, 'pets', 'pets', 1);
  });
  afterAll(() => hub?.close());

  it.skipIf(skip)('stores each prediction once however often a batch is resent, with its embedding', async () => {
    const device = await hub.as('device');
    const batch = [prediction(), prediction({ top: [{ label: 'bird', probability: 0.99 }] })];
    expect(await device.feedback.syncPredictions({ project: 'pets', predictions: batch })).toEqual({ received: 2, inserted: 2, duplicates: 0, rejected: [] });
    // A lost response: the device sends the same batch again, plus a new event.
    const again = [...batch, prediction()];
    expect(await device.feedback.syncPredictions({ project: 'pets', predictions: again })).toEqual({ received: 3, inserted: 1, duplicates: 2, rejected: [] });

    const { predictions: listed } = await (await hub.as('labeler')).feedback.predictions({ project: 'pets', limit: 50 });
    expect(listed.filter((p) => batch.some((b) => b.id === p.id))).toHaveLength(2);
    const bird = listed.find((p) => p.id === batch[1]!.id)!;
    expect(bird).toMatchObject({ model: 'pets', version: 1, label: 'bird', confidence: 0.99, backend: 'webgpu', sentBy: 'test-device', groundTruth: null });
  });

  it.skipIf(skip)('counts a resent event as a duplicate even when its model version or label is refused now', async () => {
    const device = await hub.as('device');
    const labeler = await hub.as('labeler');
    const stored = prediction();
    await device.feedback.syncPredictions({ project: 'pets', predictions: [stored] });
    const correction = { id: crypto.randomUUID(), predictionId: stored.id, label: 'cat', createdAt: '2026-11-20T10:01:00Z' };
    await labeler.feedback.syncCorrections({ project: 'pets', corrections: [correction] });
    // The same events resent once their version and label no longer check out (a version removed, a label renamed):
    // they were delivered, so the outbox must drop them, not set them aside as rejected.
    const changed = { ...stored, version: 99, top: [{ label: 'horse', probability: 1 }] };
    expect(await device.feedback.syncPredictions({ project: 'pets', predictions: [changed] })).toEqual({ received: 1, inserted: 0, duplicates: 1, rejected: [] });
    expect(await labeler.feedback.syncCorrections({ project: 'pets', corrections: [{ ...correction, label: 'horse' }] })).toEqual({ received: 1, inserted: 0, duplicates: 1, rejected: [] });
  });

  it.skipIf(skip)('keeps the latest label a person gave as ground truth, and a resent correction once', async () => {
    const device = await hub.as('device');
    const labeler = await hub.as('labeler');
    const p = prediction();
    await device.feedback.syncPredictions({ project: 'pets', predictions: [p] });
    const first = { id: crypto.randomUUID(), predictionId: p.id, label: 'cat', createdAt: '2026-11-20T10:01:00Z' };
    const second = { id: crypto.randomUUID(), predictionId: p.id, label: 'bird', createdAt: '2026-11-20T10:02:00Z' };
    expect(await labeler.feedback.syncCorrections({ project: 'pets', corrections: [first] })).toEqual({ received: 1, inserted: 1, duplicates: 0, rejected: [] });
    expect(await labeler.feedback.syncCorrections({ project: 'pets', corrections: [first, second] })).toEqual({ received: 2, inserted: 1, duplicates: 1, rejected: [] });

    const { predictions: listed } = await labeler.feedback.predictions({ project: 'pets', limit: 50 });
    expect(listed.find((x) => x.id === p.id)!.groundTruth).toEqual({ label: 'bird', unusable: false, labeledBy: 'test-labeler', at: '2026-11-20T10:02:00.000Z' });
    const { predictions: queue } = await labeler.feedback.predictions({ project: 'pets', uncorrected: true, limit: 50 });
    expect(queue.some((x) => x.id === p.id)).toBe(false);
  });

  it.skipIf(skip)('rejects each bad event alone with the field and the valid values, and stores the rest of its batch', async () => {
    const device = await hub.as('device');
    const labeler = await hub.as('labeler');
    const good = prediction();
    const horse = prediction({ top: [{ label: 'horse', probability: 1 }] });
    const noVersion = prediction({ version: 9 });
    const badBackend = { ...prediction(), backend: 'gpu' as 'webgpu' };
    const badClock = prediction({ createdAt: '0001-01-01T00:00:00Z' });
    const synced = await device.feedback.syncPredictions({ project: 'pets', predictions: [horse, good, noVersion, badBackend, badClock, 'garbage' as never] });
    expect(synced).toEqual({
      received: 6,
      inserted: 1,
      duplicates: 0,
      rejected: [
        { id: horse.id, index: 0, reason: 'top.0.label "horse" is not a label of project "pets"; valid labels: cat, dog, bird' },
        { id: noVersion.id, index: 2, reason: 'version: model "pets" of "pets" has no version 9' },
        { id: badBackend.id, index: 3, reason: 'backend: backend must be one of: webgpu, webgl, wasm, cpu, tensorflow' },
        { id: badClock.id, index: 4, reason: 'createdAt: must be between 2000 and 2200' },
        { id: null, index: 5, reason: 'event: Invalid input: expected object, received string' },
      ],
    });
    const unknownPrediction = { id: crypto.randomUUID(), predictionId: crypto.randomUUID(), label: 'cat', createdAt: '2026-11-20T10:00:00Z' };
    const badLabel = { id: crypto.randomUUID(), predictionId: good.id, label: 'horse', createdAt: '2026-11-20T10:00:00Z' };
    const confirm = { id: crypto.randomUUID(), predictionId: good.id, label: 'dog', createdAt: '2026-11-20T10:00:00Z' };
    const corrected = await labeler.feedback.syncCorrections({ project: 'pets', corrections: [unknownPrediction, badLabel, confirm] });
    expect(corrected).toMatchObject({ received: 3, inserted: 1, duplicates: 0 });
    expect(corrected.rejected).toHaveLength(2);
    expect(corrected.rejected[0]!.reason).toMatch(/^predictionId: "pets" has no prediction [0-9a-f-]{36}; sync the prediction first$/);
    expect(corrected.rejected[1]).toEqual({ id: badLabel.id, index: 1, reason: 'label "horse" is not a label of project "pets"; valid labels: cat, dog, bird' });
    // Only the good events were stored; a rejected one sent again is rejected again, never half-stored.
    const { predictions: listed } = await labeler.feedback.predictions({ project: 'pets', limit: 500 });
    expect(listed.filter((p) => [good, horse, noVersion, badBackend, badClock].some((e) => e.id === p.id)).map((p) => p.id)).toEqual([good.id]);
    expect(listed.find((p) => p.id === good.id)!.groundTruth!.label).toBe('dog');
    expect((await device.feedback.syncPredictions({ project: 'pets', predictions: [horse] })).rejected).toHaveLength(1);
  });

  it.skipIf(skip)('rejects NUL in labels and embeddings outside float32, which used to fail the whole batch with a 500', async () => {
    const device = await hub.as('device');
    const nul = prediction({ top: [{ label: 'do\u0000g', probability: 1 }] });
    const huge = prediction({ embedding: [0.5, 1e300] });
    const tinyButZero = prediction({ embedding: [5e-324, 1e-40, -3.4028234663852886e38] });
    const synced = await device.feedback.syncPredictions({ project: 'pets', predictions: [nul, huge, tinyButZero] });
    expect(synced.inserted).toBe(1);
    expect(synced.rejected.map((r) => [r.index, r.reason])).toEqual([
      [0, 'top.0.label: label must not contain NUL (\\u0000) or lone surrogate characters'],
      [1, 'embedding.1: must be a finite float32 value (between -3.4028234663852886e+38 and 3.4028234663852886e+38)'],
    ]);
    const [row] = await hub.deps.db.select({ embedding: predictions.embedding }).from(predictions).where(eq(predictions.id, tinyButZero.id));
    // Stored as float32 bytes: compare as float32.
    expect([...embeddingFromBytes(row!.embedding)]).toEqual([0, Math.fround(1e-40), -3.4028234663852886e38]);
  });

  it.skipIf(skip)('stores the device id, app version and channel, and reads an old device\'s event as production with no device', async () => {
    const device = await hub.as('device');
    const current = prediction({ deviceId: 'a1b2c3d4-e5f6-4789-abcd-ef0123456789', appVersion: '1.4.0-rc.1+abc', channel: 'staging' });
    const old = prediction();
    const embeddings = [[1.5, -2, 0.1], [Math.fround(0.3), 7, -0.5, 2 ** -20]];
    const varied = embeddings.map((embedding) => prediction({ embedding }));
    expect(await device.feedback.syncPredictions({ project: 'pets', predictions: [current, old, ...varied] })).toMatchObject({ received: 4, inserted: 4, duplicates: 0 });
    const stored = await hub.deps.db
      .select({ id: predictions.id, channel: predictions.channel, deviceId: predictions.deviceId, appVersion: predictions.appVersion, embedding: predictions.embedding })
      .from(predictions)
      .where(inArray(predictions.id, [current.id, old.id, ...varied.map((v) => v.id)]));
    const byId = new Map(stored.map((row) => [row.id, row]));
    expect(byId.get(current.id)).toMatchObject({ channel: 'staging', deviceId: current.deviceId, appVersion: '1.4.0-rc.1+abc' });
    expect(byId.get(old.id)).toMatchObject({ channel: 'production', deviceId: null, appVersion: null });
    // Embeddings of different lengths in one statement each come back as their own float32 values.
    varied.forEach((v, i) => expect([...embeddingFromBytes(byId.get(v.id)!.embedding)]).toEqual(embeddings[i]!.map(Math.fround)));
  });

  it.skipIf(skip)('stores labels with quotes, commas and braces, and the text "NULL", exactly as sent', async () => {
    const labels = ['say "hi", {ok}', 'NULL', 'été 😀'];
    await (await hub.as('engineer')).projects.create({ slug: 'quoting', labels });
    await publishedVersion(hub.deps, 'quoting', 'pets', 1);
    const device = await hub.as('device', { projects: ['quoting'] });
    const events = [
      prediction({ top: [{ label: labels[0]!, probability: 0.6 }, { label: labels[1]!, probability: 0.4 }], channel: 'null', appVersion: 'NULL' }),
      prediction({ top: [{ label: labels[1]!, probability: 0.9 }, { label: labels[2]!, probability: 0.1 }], deviceId: 'NULL-NULL' }),
    ];
    expect(await device.feedback.syncPredictions({ project: 'quoting', predictions: events })).toMatchObject({ inserted: 2, rejected: [] });
    const rows = await hub.deps.db
      .select({ id: predictions.id, label: predictions.label, top: predictions.topK, channel: predictions.channel, appVersion: predictions.appVersion, deviceId: predictions.deviceId })
      .from(predictions)
      .where(inArray(predictions.id, events.map((e) => e.id)));
    const byId = new Map(rows.map((row) => [row.id, row]));
    expect(byId.get(events[0]!.id)).toEqual({ id: events[0]!.id, label: labels[0], top: events[0]!.top, channel: 'null', appVersion: 'NULL', deviceId: null });
    expect(byId.get(events[1]!.id)).toEqual({ id: events[1]!.id, label: 'NULL', top: events[1]!.top, channel: 'production', appVersion: null, deviceId: 'NULL-NULL' });
  });

  it.skipIf(skip)('rejects a bad device id, app version or channel naming the field, and stores the rest', async () => {
    const device = await hub.as('device');
    const bad = [
      prediction({ deviceId: 'short' }),
      prediction({ deviceId: 'x'.repeat(65) }),
      prediction({ deviceId: 'has space in it' }),
      prediction({ appVersion: '' }),
      prediction({ appVersion: '1.0.0\u0000' }),
      prediction({ channel: 'Production' }),
      { ...prediction(), deviceId: 12345678 as unknown as string },
    ];
    const good = prediction({ deviceId: 'AbCdEfGh_12-34', appVersion: '2', channel: 'canary-2' });
    const synced = await device.feedback.syncPredictions({ project: 'pets', predictions: [...bad, good] });
    expect(synced).toMatchObject({ received: 8, inserted: 1, duplicates: 0 });
    expect(synced.rejected.map((r) => [r.index, r.reason.split(':')[0]])).toEqual([
      [0, 'deviceId'],
      [1, 'deviceId'],
      [2, 'deviceId'],
      [3, 'appVersion'],
      [4, 'appVersion'],
      [5, 'channel'],
      [6, 'deviceId'],
    ]);
    expect(synced.rejected[0]!.reason).toBe('deviceId: deviceId must be 8-64 characters of A-Z, a-z, 0-9, - and _ (a random id made once per installation)');
    expect(synced.rejected[5]!.reason).toBe('channel: channel must be 1-32 characters of a-z, 0-9 and -, starting with a letter (e.g. production, staging)');
  });

  it.skipIf(skip)('counts an id repeated within one batch once, and a stored event refused now as a duplicate beside new ones', async () => {
    const device = await hub.as('device');
    const twice = prediction();
    expect(await device.feedback.syncPredictions({ project: 'pets', predictions: [twice, twice] })).toEqual({ received: 2, inserted: 1, duplicates: 1, rejected: [] });
    const fresh = prediction();
    const horse = prediction({ top: [{ label: 'horse', probability: 1 }] });
    const changed = { ...twice, version: 7 };
    expect(await device.feedback.syncPredictions({ project: 'pets', predictions: [changed, fresh, horse] })).toEqual({
      received: 3,
      inserted: 1,
      duplicates: 1,
      rejected: [{ id: horse.id, index: 2, reason: 'top.0.label "horse" is not a label of project "pets"; valid labels: cat, dog, bird' }],
    });
  });

  it.skipIf(skip)('stores each event once when devices send the same batches at the same moment, more calls than connections', async () => {
    // 12 batches, each sent by two devices at once: 24 calls, more than the pool's connections. Of each pair one COPY
    // wins, the other fails on the primary key as a whole and inserts its batch again with ON CONFLICT DO NOTHING, so
    // each event is stored once and counted once; no COPY shares its connection with another query.
    const batches = Array.from({ length: 12 }, (_, b) => Array.from({ length: 50 }, (_, i) => prediction({ embedding: [b, i, -0.5] })));
    const [first, second] = await Promise.all([hub.as('device'), hub.as('device')]);
    const answers = await Promise.all(batches.flatMap((batch) => [first!, second!].map((device) => device.feedback.syncPredictions({ project: 'pets', predictions: batch }))));
    expect(answers.map((a) => a.inserted + a.duplicates)).toEqual(answers.map(() => 50));
    expect(answers.reduce((sum, a) => sum + a.inserted, 0)).toBe(600);
    const ids = batches.flat().map((event) => event.id);
    const stored = await hub.deps.db.select({ id: predictions.id, embedding: predictions.embedding }).from(predictions).where(inArray(predictions.id, ids));
    expect(stored).toHaveLength(600);
    const byId = new Map(stored.map((row) => [row.id, [...embeddingFromBytes(row.embedding)]]));
    batches.flat().forEach((event) => expect(byId.get(event.id)).toEqual(event.embedding));
  });

  it.skipIf(skip)('refuses a page cursor or a version number the database cannot store, naming the field', async () => {
    const labeler = await hub.as('labeler');
    // Year 0000 and negative years are ISO 8601 but not PostgreSQL dates: the query failed with a 500.
    for (const createdAt of ['0000-01-01T00:00:00Z', '-000001-01-01T00:00:00Z']) {
      const refused = await rejection(labeler.feedback.predictions({ project: 'pets', before: { createdAt, id: crypto.randomUUID() }, limit: 5 }));
      expect(refused.code).toBe('BAD_REQUEST');
      expect(refused.message).toMatch(/^before\.createdAt: (must be an ISO 8601 date-time; before\.createdAt: )?must be between 2000 and 2200$/);
    }
    const synced = await (await hub.as('device')).feedback.syncPredictions({ project: 'pets', predictions: [prediction({ version: 2 ** 31 })] });
    expect(synced.rejected.map((r) => r.reason)).toEqual(['version: must be a model version number of at most 2147483647']);
  });

  it.skipIf(skip)('pages through predictions sharing one timestamp without skipping or repeating any', async () => {
    await (await hub.as('engineer')).projects.create({ slug: 'paging', labels: LABELS });
    await publishedVersion(hub.deps, 'paging', 'pets', 1);
    const device = await hub.as('device');
    const sameInstant = '2026-11-21T08:00:00.000Z';
    const events = Array.from({ length: 23 }, (_, i) => prediction({ createdAt: i < 20 ? sameInstant : `2026-11-21T07:59:0${i - 20}.000Z` }));
    expect((await device.feedback.syncPredictions({ project: 'paging', predictions: events })).inserted).toBe(23);
    const labeler = await hub.as('labeler');
    const seen: string[] = [];
    let before: { createdAt: string; id: string } | undefined;
    let pages = 0;
    do {
      const page = await labeler.feedback.predictions({ project: 'paging', limit: 7, before });
      seen.push(...page.predictions.map((p) => p.id));
      before = page.next ?? undefined;
      pages++;
    } while (before);
    expect(pages).toBe(4);
    expect(seen).toHaveLength(23);
    expect(new Set(seen)).toEqual(new Set(events.map((e) => e.id)));
  });

  it.skipIf(skip)('lets devices send predictions but not ground truth', async () => {
    const device = await hub.as('device');
    const p = prediction();
    await device.feedback.syncPredictions({ project: 'pets', predictions: [p] });
    const refused = await rejection(device.feedback.syncCorrections({ project: 'pets', corrections: [{ id: crypto.randomUUID(), predictionId: p.id, label: 'cat', createdAt: '2026-11-20T10:00:00Z' }] }));
    expect(refused.code).toBe('FORBIDDEN');
  });
});
