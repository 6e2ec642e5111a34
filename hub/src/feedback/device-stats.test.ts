import crypto from 'node:crypto';
import { LATENCY_BINS, embeddingToBytes, latencyBin } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishedVersion } from '../../test/published-version';
import { DATABASES, type TestHub, createTestHub, refusal } from '../../test/test-hub';
import { getProject } from '../projects/project.service';
import * as models from '../registry/model-version.repository';
import { devicesSeen } from './device-stats.service';
import * as feedbackStore from './feedback.repository';

/** The q-quantile the way percentile_cont computes it: linear between the two nearest ranks. */
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const at = q * (sorted.length - 1);
  const low = Math.floor(at);
  return sorted[low]! + (sorted[Math.min(low + 1, sorted.length - 1)]! - sorted[low]!) * (at - low);
}

describe.each(DATABASES)('devices seen on $kind', ({ kind, skip }) => {
  let hub: TestHub;
  const now = Date.now();
  /** What was stored per device: [deviceId | null, backend, latencyMs, model version, app version, minutes ago][] */
  const sent: { deviceId: string | null; backend: string; latencyMs: number; version: number; appVersion: string | null; minutesAgo: number }[] = [];

  beforeAll(async () => {
    if (skip) return;
    hub = await createTestHub(kind);
    const admin = await hub.as('admin');
    for (const slug of ['seen', 'other']) await admin.projects.create({ slug, labels: ['a', 'b'] });
    await publishedVersion(hub.deps, 'seen', 'm', 1);
    await publishedVersion(hub.deps, 'seen', 'm', 2);
    await publishedVersion(hub.deps, 'other', 'm', 1);
    const seen = await getProject(hub.deps, 'seen');
    const other = await getProject(hub.deps, 'other');
    const ids = new Map((await models.versionIdsOf(hub.deps.db, seen.id, ['m'])).map((v) => [v.version, v.id]));
    const otherVersion = (await models.versionIdsOf(hub.deps.db, other.id, ['m']))[0]!.id;
    // Seeded, varied latencies: three devices, one of them on two backends and two versions, and predictions without a device id.
    let x = 7;
    const next = () => (x = (x * 48271) % 2147483647) / 2147483647;
    for (let i = 0; i < 120; i++) {
      const device = i % 4 === 3 ? null : `device-${'abc'[i % 3]}-0001`;
      sent.push({
        deviceId: device,
        backend: device === 'device-a-0001' && i % 2 ? 'wasm' : 'webgl',
        latencyMs: Math.round(0.5 + next() * 400 * (device === 'device-b-0001' ? 3 : 1) * 100) / 100,
        version: i % 5 === 0 ? 1 : 2,
        appVersion: device ? `1.${i % 3}.0` : null,
        minutesAgo: i,
      });
    }
    const row = (s: (typeof sent)[number], projectId: string, modelVersionId: string, createdAt: Date) => ({
      id: crypto.randomUUID(),
      projectId,
      modelVersionId,
      label: 'a',
      confidence: 0.9,
      topK: [{ label: 'a', probability: 0.9 }],
      embedding: embeddingToBytes([1, 2]),
      backend: s.backend,
      latencyMs: s.latencyMs,
      source: 'file',
      sentBy: s.deviceId ? 'shop-tablets' : 'old-app',
      deviceId: s.deviceId,
      appVersion: s.appVersion,
      createdAt,
    });
    await feedbackStore.insertPredictionRows(hub.deps.db, sent.map((s) => row(s, seen.id, ids.get(s.version)!, new Date(now - s.minutesAgo * 60_000))));
    // Outside the window, and in another project: never counted.
    await feedbackStore.insertPredictionRows(hub.deps.db, [
      row({ ...sent[0]!, deviceId: 'device-a-0001', latencyMs: 99_999 }, seen.id, ids.get(1)!, new Date(now - 8 * 24 * 3_600_000)),
      row({ ...sent[0]!, deviceId: 'device-z-0001', latencyMs: 99_999 }, other.id, otherVersion, new Date(now - 60_000)),
    ]);
  });
  afterAll(() => hub?.close());

  it.skipIf(skip)('lists each device with its last use, counts, versions, backends, app version and latency computed over the window', async () => {
    const engineer = await hub.as('engineer');
    const answer = await engineer.devices.seen({ project: 'seen', days: 7 });
    expect(answer.total).toBe(4);
    expect(answer.edgesMs).toHaveLength(LATENCY_BINS);
    for (const device of answer.devices) {
      const mine = sent.filter((s) => s.deviceId === device.deviceId);
      expect(device.predictions, String(device.deviceId)).toBe(mine.length);
      expect(device.lastSeen).toBe(new Date(now - Math.min(...mine.map((s) => s.minutesAgo)) * 60_000).toISOString());
      expect(device.backends).toEqual([...new Set(mine.map((s) => s.backend))].sort());
      expect(device.models).toEqual([...new Set(mine.map((s) => s.version))].sort().map((version) => ({ model: 'm', version })));
      expect(device.tokens).toEqual([device.deviceId ? 'shop-tablets' : 'old-app']);
      const latest = [...mine].sort((a, b) => a.minutesAgo - b.minutesAgo)[0]!;
      expect(device.appVersion).toBe(latest.appVersion);
      expect(device.latency.p50Ms).toBeCloseTo(quantile(mine.map((s) => s.latencyMs), 0.5), 6);
      expect(device.latency.p95Ms).toBeCloseTo(quantile(mine.map((s) => s.latencyMs), 0.95), 6);
      const bins = new Array<number>(LATENCY_BINS).fill(0);
      for (const s of mine) bins[latencyBin(s.latencyMs)]!++;
      expect(device.latency.counts).toEqual(bins);
    }
    // Most recently seen first.
    expect(answer.devices.map((d) => d.lastSeen)).toEqual(answer.devices.map((d) => d.lastSeen).sort().reverse());
    expect(answer.overall.predictions).toBe(sent.length);
    expect(answer.overall.p95Ms).toBeCloseTo(quantile(sent.map((s) => s.latencyMs), 0.95), 6);
    expect(answer.backends).toEqual([
      { backend: 'webgl', predictions: sent.filter((s) => s.backend === 'webgl').length },
      { backend: 'wasm', predictions: sent.filter((s) => s.backend === 'wasm').length },
    ]);
  });

  it.skipIf(skip)('filters by backend, pages the devices and keeps the window bounded', async () => {
    const admin = await hub.as('admin');
    const wasm = await admin.devices.seen({ project: 'seen', backend: 'wasm' });
    expect(wasm.devices.map((d) => d.deviceId)).toEqual(['device-a-0001']);
    expect(wasm.devices[0]!.predictions).toBe(sent.filter((s) => s.backend === 'wasm').length);
    expect(wasm.overall.predictions).toBe(wasm.devices[0]!.predictions);
    // The filter's choices stay the window's backends.
    expect(wasm.backends.map((b) => b.backend)).toEqual(['webgl', 'wasm']);

    const pages = [await admin.devices.seen({ project: 'seen', limit: 3 }), await admin.devices.seen({ project: 'seen', limit: 3, offset: 3 })];
    expect(pages.map((p) => p.devices.length)).toEqual([3, 1]);
    const all = await admin.devices.seen({ project: 'seen', limit: 100 });
    expect(pages.flatMap((p) => p.devices.map((d) => d.deviceId))).toEqual(all.devices.map((d) => d.deviceId));

    // Nine days back reaches the old prediction.
    const longer = await admin.devices.seen({ project: 'seen', days: 9 });
    expect(longer.overall.predictions).toBe(sent.length + 1);
    expect(await refusal(admin.devices.seen({ project: 'seen', days: 400 }))).toEqual({ code: 'BAD_REQUEST', message: 'days: days must be at most 90' });
    expect((await refusal(admin.devices.seen({ project: 'seen', backend: 'gpu' as 'webgl' })))?.message).toMatch(/^backend: backend must be one of: webgpu, webgl/);
    expect(await refusal(admin.devices.seen({ project: 'seen', limit: 101 }))).toEqual({ code: 'BAD_REQUEST', message: 'limit: limit must be at most 100' });
  });

  it.skipIf(skip)('keeps only the latest predictions of a window that holds more than the most it aggregates', async () => {
    const whole = await devicesSeen(hub.deps, { project: 'seen', days: 7, limit: 25, offset: 0 });
    expect(whole.window.truncated).toBe(false);
    const latest = await devicesSeen(hub.deps, { project: 'seen', days: 7, limit: 25, offset: 0, maxPredictions: 50 });
    expect(latest.window).toMatchObject({ truncated: true, maxPredictions: 50, from: new Date(now - 49 * 60_000).toISOString() });
    expect(latest.overall.predictions).toBe(50);
    const kept = sent.filter((s) => s.minutesAgo < 50);
    for (const device of latest.devices) expect(device.predictions, String(device.deviceId)).toBe(kept.filter((s) => s.deviceId === device.deviceId).length);
  });

  it.skipIf(skip)('answers an empty window with no devices', async () => {
    const admin = await hub.as('admin');
    await admin.projects.create({ slug: 'quiet', labels: ['a', 'b'] });
    const answer = await admin.devices.seen({ project: 'quiet' });
    expect(answer).toMatchObject({ total: 0, devices: [], backends: [], overall: { predictions: 0, p50Ms: null, p95Ms: null } });
  });
});
