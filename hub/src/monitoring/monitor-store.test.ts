import crypto from 'node:crypto';
import { LATENCY_BINS, embeddingToBytes, latencyBin, latencyBinEdges } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishedVersion } from '../../test/published-version';
import { DATABASES, type TestHub, createTestHub } from '../../test/test-hub';
import * as feedbackStore from '../feedback/feedback.repository';
import { getProject } from '../projects/project.service';
import * as models from '../registry/model-version.repository';
import * as points from './monitor-point.repository';
import * as rollups from './monitor-rollup.repository';
import * as streams from './monitor-stream.repository';

describe('latency bins', () => {
  it('puts each latency in the bin whose edges hold it', () => {
    const edges = latencyBinEdges();
    expect(edges).toHaveLength(LATENCY_BINS);
    for (const ms of [0, 0.5, 1, 1.4, 1.5, 3, 17, 250, 1000, 30_000, 600_000]) {
      const bin = latencyBin(ms);
      expect(edges[bin]!, `${ms} ms`).toBeLessThanOrEqual(ms);
      if (bin < LATENCY_BINS - 1) expect(edges[bin + 1]!, `${ms} ms`).toBeGreaterThan(ms);
    }
  });
});

describe.each(DATABASES)('monitor tables on $kind', ({ kind, skip }) => {
  let hub: TestHub;
  let projectId: string;
  let modelVersionId: string;

  beforeAll(async () => {
    if (skip) return;
    hub = await createTestHub(kind);
    await (await hub.as('admin')).projects.create({ slug: 'store', labels: ['a', 'b', 'c'] });
    projectId = (await getProject(hub.deps, 'store')).id;
    await publishedVersion(hub.deps, 'store', 'm', 1);
    modelVersionId = (await models.versionIdsOf(hub.deps.db, projectId, ['m']))[0]!.id;
  });
  afterAll(() => hub?.close());

  it.skipIf(skip)('makes one stream per (version, channel) and saves it only at the revision it was read at', async () => {
    const stream = await streams.getOrCreate(hub.deps.db, { projectId, modelVersionId, channel: 'production' });
    expect(await streams.getOrCreate(hub.deps.db, { projectId, modelVersionId, channel: 'production' })).toMatchObject({ id: stream.id });
    expect((await streams.getOrCreate(hub.deps.db, { projectId, modelVersionId, channel: 'staging' })).id).not.toBe(stream.id);
    const next = { cursor: { receivedAt: '2026-11-30 10:00:00.123456+00', id: crypto.randomUUID() }, events: 3, admitted: 2, snapshot: null, state: new Uint8Array([1, 2, 3]), at: new Date() };
    expect(await streams.save(hub.deps.db, stream.id, 0, next)).toBe(true);
    expect(await streams.save(hub.deps.db, stream.id, 0, { ...next, events: 99 })).toBe(false);
    const saved = await streams.findById(hub.deps.db, stream.id);
    expect(saved).toMatchObject({ events: 3, admitted: 2, revision: 1 });
    // The cursor keeps PostgreSQL's microseconds, which a Date would round away.
    expect(new Date(saved!.cursor!.receivedAt.replace(' ', 'T').replace(/\+00$/, 'Z')).toISOString()).toBe('2026-11-30T10:00:00.123Z');
    expect(saved!.cursor!.receivedAt).toMatch(/\.123456/);
    expect([...saved!.state!]).toEqual([1, 2, 3]);
  });

  it.skipIf(skip)('reads a stream in arrival order after a cursor, none twice and none skipped, within one arrival time too', async () => {
    const channel = 'order-test';
    const rows = Array.from({ length: 25 }, (_, i) => ({
      id: crypto.randomUUID(),
      projectId,
      modelVersionId,
      channel,
      label: 'a',
      confidence: 0.9,
      topK: [{ label: 'a', probability: 0.9 }],
      embedding: embeddingToBytes([i, 1]),
      backend: 'wasm',
      latencyMs: 1,
      source: 'file',
      sentBy: 'phone',
      deviceId: i % 2 ? `device-${i}` : null,
      createdAt: new Date(),
    }));
    // One statement: all 25 share one arrival time, so the id orders them.
    await feedbackStore.insertPredictions(hub.deps.db, rows);
    const seen: string[] = [];
    let after: feedbackStore.StreamCursor | null = null;
    for (;;) {
      const page = await feedbackStore.eventsAfter(hub.deps.db, { modelVersionId, channel, after, before: new Date(Date.now() + 60_000), holdBackSeconds: 5, limit: 7 });
      if (!page.length) break;
      seen.push(...page.map((e) => e.id));
      after = { receivedAt: page.at(-1)!.receivedAt, id: page.at(-1)!.id };
      expect(page.every((e) => e.deviceKey === (rows.find((r) => r.id === e.id)!.deviceId ?? 'phone'))).toBe(true);
    }
    expect(seen).toEqual([...rows.map((r) => r.id)].sort());
    expect(await feedbackStore.hasEventsAfter(hub.deps.db, { modelVersionId, channel, after })).toBe(false);
    // The database's clock: nothing is 5 s old yet.
    expect(await feedbackStore.eventsAfter(hub.deps.db, { modelVersionId, channel, after: null, before: null, holdBackSeconds: 5, limit: 10 })).toEqual([]);
  });

  it.skipIf(skip)('adds rollups of the same minute element-wise and keeps the busiest devices', async () => {
    const stream = await streams.getOrCreate(hub.deps.db, { projectId, modelVersionId, channel: 'rollup-test' });
    const bucket = new Date('2026-11-30T10:00:00Z');
    const row = (classCounts: number[], devices: Record<string, number>): rollups.Rollup => ({
      bucket,
      events: classCounts.reduce((s, n) => s + n, 0),
      classCounts,
      lowConfidence: 1,
      expectedCorrect: 1.5,
      confidenceHistogram: Array.from({ length: 20 }, (_, i) => (i === 19 ? 2 : 0)),
      latencyHistogram: Array.from({ length: LATENCY_BINS }, (_, i) => (i === 3 ? 1 : 0)),
      backends: { wasm: 1, webgpu: 1 },
      appVersions: { '1.0.0': 2 },
      devices,
    });
    await rollups.addRollups(hub.deps.db, stream.id, [row([1, 0, 1], { d1: 2 })]);
    const many = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`x${String(i).padStart(2, '0')}`, i + 1]));
    await rollups.addRollups(hub.deps.db, stream.id, [row([2, 3, 4], { d1: 5, ...many }), { ...row([0, 1, 0], {}), bucket: new Date('2026-11-30T10:01:00Z') }]);
    const totals = (await rollups.totals(hub.deps.db, { streamIds: [stream.id], from: bucket, to: new Date('2026-11-30T10:02:00Z') })).get(stream.id)!;
    expect(totals).toMatchObject({ events: 2 + 9 + 1, lowConfidence: 3, expectedCorrect: 4.5, classCounts: [3, 4, 5] });
    expect(totals.confidenceHistogram[19]).toBe(6);
    expect(totals.latencyHistogram[3]).toBe(3);
    const onlyFirst = (await rollups.totals(hub.deps.db, { streamIds: [stream.id], from: bucket, to: new Date('2026-11-30T10:01:00Z') })).get(stream.id)!;
    expect(onlyFirst.classCounts).toEqual([3, 3, 5]);
    const shares = await rollups.shares(hub.deps.db, { streamIds: [stream.id], from: bucket, to: new Date('2026-11-30T10:02:00Z') });
    expect(shares.backends).toEqual({ wasm: 3, webgpu: 3 });
    expect(shares.appVersions).toEqual({ '1.0.0': 6 });
    // The first minute keeps its DEVICES_PER_BUCKET busiest devices: x29..x10 (30..11 events); d1 (7) and x09 (10) are out.
    expect(Object.keys(shares.devices)).toHaveLength(rollups.DEVICES_PER_BUCKET);
    expect(shares.devices.x29).toBe(30);
    expect(shares.devices.x10).toBe(11);
    expect(shares.devices.x09).toBeUndefined();
    expect(shares.devices.d1).toBeUndefined();
  });

  it.skipIf(skip)('downsamples a series to maxPoints spans, keeping each span point furthest past its threshold', async () => {
    const stream = await streams.getOrCreate(hub.deps.db, { projectId, modelVersionId, channel: 'series-test' });
    const at0 = Date.parse('2026-11-30T10:00:00Z');
    const stored = Array.from({ length: 1000 }, (_, i) => ({ detector: 'classMix', eventIndex: (i + 1) * 10, at: new Date(at0 + i * 1000), value: Math.sin(i / 25) + (i === 537 ? 5 : 0), threshold: 1 }));
    await points.insertPoints(hub.deps.db, stream.id, stored);
    await points.insertPoints(hub.deps.db, stream.id, stored.slice(0, 10)); // again: kept once
    const all = await points.series(hub.deps.db, { streamId: stream.id, detector: 'classMix', from: null, to: null, maxPoints: 2000 });
    expect(all).toHaveLength(1000);
    const few = await points.series(hub.deps.db, { streamId: stream.id, detector: 'classMix', from: null, to: null, maxPoints: 50 });
    expect(few.length).toBeLessThanOrEqual(50);
    expect(few.length).toBeGreaterThan(40);
    expect(few.map((p) => p.eventIndex)).toEqual([...few.map((p) => p.eventIndex)].sort((a, b) => a - b));
    expect(Math.max(...few.map((p) => p.value))).toBe(Math.max(...stored.map((p) => p.value)));
    const windowed = await points.series(hub.deps.db, { streamId: stream.id, detector: 'classMix', from: new Date(at0 + 100_000), to: new Date(at0 + 199_000), maxPoints: 500 });
    expect(windowed.map((p) => p.eventIndex)).toEqual(Array.from({ length: 100 }, (_, i) => (i + 101) * 10));
    expect(await points.lastAtOrAbove(hub.deps.db, { streamId: stream.id, detector: 'classMix', since: 0 })).toBe(5380);
    expect(await points.series(hub.deps.db, { streamId: stream.id, detector: 'embedding', from: null, to: null, maxPoints: 10 })).toEqual([]);
  });
});
