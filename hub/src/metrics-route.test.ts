import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { BULK_PREDICTIONS_PATH } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testAlertExplanation, testPrediction } from '../test/feedback-fixtures';
import { publishedVersion } from '../test/published-version';
import { DATABASES, type TestHub, createTestHub } from '../test/test-hub';
import { modelVersions } from './db/schema';
import { QUEUES } from './jobs/job-queue';
import * as alerts from './monitoring/alert.repository';
import * as streams from './monitoring/monitor-stream.repository';
import { getProject } from './projects/project.service';
import { createHubServer, listen } from './server';

/** The value of one sample of a scrape (labels matched exactly), or undefined when the scrape lacks it. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (JSON.stringify(Object.entries(found).sort()) === JSON.stringify(Object.entries(labels).sort())) return Number(match[3]);
  }
  return undefined;
}

const webRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-web-'));

async function serve(hub: TestHub, options: { metricsToken?: string; host?: string } = {}): Promise<{ base: string; server: http.Server }> {
  const server = createHubServer(hub.deps, { webRoot, metricsToken: options.metricsToken });
  const host = options.host ?? '127.0.0.1';
  const { port } = await listen(server, 0, host);
  return { base: `http://${host}:${port}`, server };
}

async function stop(server: http.Server | undefined): Promise<void> {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
}

describe.each(DATABASES)('GET /metrics, $kind', ({ kind, skip }) => {
  let hub: TestHub;
  let server: http.Server;
  let base: string;
  const scrape = async () => {
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return response.text();
  };

  beforeAll(async () => {
    if (skip) return;
    hub = await createTestHub(kind);
    await (await hub.as('admin')).projects.create({ slug: 'pets', labels: ['cat', 'dog'] });
    await publishedVersion(hub.deps, 'pets', 'pets', 1);
    ({ base, server } = await serve(hub));
  });
  afterAll(async () => {
    await stop(server);
    await hub?.close();
  });

  it.skipIf(skip)('counts tRPC calls by procedure and code, with their latency', async () => {
    const before = await scrape();
    const ok = { procedure: 'projects.get', code: 'OK' };
    const unauthorised = { procedure: 'projects.get', code: 'UNAUTHORIZED' };
    const url = `${base}/trpc/projects.get?input=${encodeURIComponent(JSON.stringify({ project: 'pets' }))}`;
    expect((await fetch(url, { headers: { authorization: `Bearer ${await hub.secretFor('engineer')}` } })).status).toBe(200);
    expect((await fetch(url, { headers: { authorization: `Bearer ${await hub.secretFor('engineer')}` } })).status).toBe(200);
    expect((await fetch(url)).status).toBe(401);
    const after = await scrape();
    const count = (text: string, labels: Record<string, string>) => sample(text, 'edgeloop_trpc_requests_total', labels) ?? 0;
    expect(count(after, ok) - count(before, ok)).toBe(2);
    expect(count(after, unauthorised) - count(before, unauthorised)).toBe(1);
    const observed = (text: string) => sample(text, 'edgeloop_trpc_request_duration_seconds_count', { procedure: 'projects.get' }) ?? 0;
    expect(observed(after) - observed(before)).toBe(3);
    // The scrape before this one is counted by route kind.
    expect(sample(after, 'edgeloop_http_requests_total', { route: 'metrics', status: '200' })).toBeGreaterThanOrEqual(1);
    // Default process metrics come along.
    expect(sample(after, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it.skipIf(skip)('counts synced predictions as accepted, duplicate or rejected, over tRPC and the bulk endpoint', async () => {
    const device = await hub.secretFor('device', { projects: ['pets'] });
    const count = (text: string, result: string) => sample(text, 'edgeloop_sync_events_total', { kind: 'prediction', result }) ?? 0;
    const before = await scrape();
    const first = testPrediction();
    const second = testPrediction();
    const trpc = await fetch(`${base}/trpc/feedback.syncPredictions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${device}` },
      body: JSON.stringify({ project: 'pets', predictions: [first, second] }),
    });
    expect(trpc.status).toBe(200);
    const bulk = await fetch(`${base}${BULK_PREDICTIONS_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${device}` },
      body: JSON.stringify({ project: 'pets', predictions: [first, testPrediction(), { ...testPrediction(), top: [{ label: 'unicorn', probability: 0.9 }] }] }),
    });
    expect(await bulk.json()).toMatchObject({ received: 3, inserted: 1, duplicates: 1, rejected: [{ index: 2 }] });
    const after = await scrape();
    expect(count(after, 'accepted') - count(before, 'accepted')).toBe(3);
    expect(count(after, 'duplicate') - count(before, 'duplicate')).toBe(1);
    expect(count(after, 'rejected') - count(before, 'rejected')).toBe(1);
    expect(sample(after, 'edgeloop_http_requests_total', { route: 'bulk', status: '200' })).toBeGreaterThanOrEqual(1);
  });

  it.skipIf(skip)('reads queue depths at scrape time and times the jobs this process runs', async () => {
    const queued = (text: string) => sample(text, 'edgeloop_queue_jobs', { queue: QUEUES.rolloutCheck, state: 'created' });
    expect(sample(await scrape(), 'edgeloop_queue_jobs', { queue: QUEUES.train, state: 'active' })).toBe(0);
    const before = queued(await scrape())!;
    await hub.deps.queue.send(QUEUES.rolloutCheck, {});
    await hub.deps.queue.send(QUEUES.rolloutCheck, {});
    expect(queued(await scrape())).toBe(before + 2);

    const timed = (text: string) => sample(text, 'edgeloop_job_duration_seconds_count', { queue: QUEUES.rolloutCheck, outcome: 'ok' }) ?? 0;
    const ranBefore = timed(await scrape());
    let ran = 0;
    let bothRan = () => {};
    const done = new Promise<void>((resolve) => (bothRan = resolve));
    const workId = await hub.deps.queue.work(QUEUES.rolloutCheck, { pollingIntervalSeconds: 0.5, batchSize: 1 }, async () => {
      if (++ran === 2) bothRan();
    });
    await done;
    await hub.deps.queue.offWork({ id: workId });
    expect(timed(await scrape()) - ranBefore).toBe(2);
  });

  it.skipIf(skip)('reads open alerts and monitor figures per project from the database', async () => {
    const { id: projectId } = await getProject(hub.deps, 'pets');
    const [version] = await hub.deps.db.select().from(modelVersions);
    const stream = await streams.getOrCreate(hub.deps.db, { projectId, modelVersionId: version!.id, channel: 'production' });
    expect(sample(await scrape(), 'edgeloop_open_alerts', { project: 'pets' })).toBe(0);
    const alert = await alerts.openAlert(hub.deps.db, { projectId, streamId: stream.id, detector: 'classMix', at: new Date(), event: 100, statistic: 20, threshold: 10, explanation: testAlertExplanation });
    await alerts.openAlert(hub.deps.db, { projectId, streamId: stream.id, detector: 'confidence', at: new Date(), event: 120, statistic: 20, threshold: 10, explanation: testAlertExplanation });
    const open = await scrape();
    expect(sample(open, 'edgeloop_open_alerts', { project: 'pets' })).toBe(2);
    expect(sample(open, 'edgeloop_monitor_streams', { project: 'pets' })).toBe(1);
    expect(sample(open, 'edgeloop_monitor_events', { project: 'pets' })).toBe(0);
    await alerts.resolveAlert(hub.deps.db, alert.id, new Date());
    expect(sample(await scrape(), 'edgeloop_open_alerts', { project: 'pets' })).toBe(1);
  });
});

describe('who may read /metrics', () => {
  let hub: TestHub;
  const servers: http.Server[] = [];
  const token = 'metrics-token-0123456789';
  beforeAll(async () => {
    hub = await createTestHub('pglite');
  });
  afterAll(async () => {
    for (const server of servers) await stop(server);
    await hub?.close();
  });
  const started = async (options: { metricsToken?: string; host?: string }) => {
    const { base, server } = await serve(hub, options);
    servers.push(server);
    return base;
  };

  it('with METRICS_TOKEN, answers that bearer token only', async () => {
    const base = await started({ metricsToken: token });
    const missing = await fetch(`${base}/metrics`);
    expect(missing.status).toBe(401);
    expect(await missing.text()).toBe('metrics need Authorization: Bearer <METRICS_TOKEN>');
    expect((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer metrics-token-wrong-value' } })).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}x` } })).status).toBe(401);
    const right = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(right.status).toBe(200);
    expect(await right.text()).toContain('edgeloop_queue_jobs');
  });

  it('without METRICS_TOKEN, answers loopback callers that no proxy forwarded', async () => {
    const base = await started({});
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
    for (const headers of [['x-forwarded-for', '203.0.113.9'], ['forwarded', 'for=203.0.113.9']] satisfies [string, string][]) {
      const forwarded = await fetch(`${base}/metrics`, { headers: [headers] });
      expect(forwarded.status).toBe(403);
      expect(await forwarded.text()).toBe('metrics answer loopback callers only; set METRICS_TOKEN to scrape from elsewhere');
    }
  });

  const external = Object.values(os.networkInterfaces())
    .flat()
    .find((address) => address && address.family === 'IPv4' && !address.internal)?.address;
  it.skipIf(!external)('without METRICS_TOKEN, refuses a caller from another address', async () => {
    const base = await started({ host: external! });
    expect((await fetch(`${base}/metrics`)).status).toBe(403);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });
});
