import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { MonitorWebhookJob } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishedVersion } from '../../test/published-version';
import { SYNTHETIC_LABELS, type Draw, drawSynthetic, predictionRows, storeProfile, syntheticProfile } from '../../test/synthetic-monitor';
import { DATABASES, type TestHub, createTestHub } from '../../test/test-hub';
import * as feedbackStore from '../feedback/feedback.repository';
import { QUEUES } from '../jobs/job-queue';
import { getProject } from '../projects/project.service';
import * as models from '../registry/model-version.repository';
import * as alerts from './alert.repository';
import { runMonitorUpdateJob, startMonitorWorker } from './monitor.job';
import { WEBHOOK_SIGNATURE_HEADER, verifyWebhook, webhookSecret } from './webhook-signing';
import { type AlertWebhookBody, WEBHOOK_MAX_BODY_BYTES, WEBHOOK_RETRY_LIMIT, WebhookDeliveryError, deliverAlertWebhook, postSigned, requestAlertWebhooks } from './webhook.service';

const PROJECT = 'hooks';
const MODEL = 'hook-net';
/** Past the hold-back: every event stored so far is old enough to read. */
const later = () => new Date(Date.now() + 60_000);

interface Received {
  method: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver on 127.0.0.1: records every call and answers what `answer` says at the time. */
async function receiver() {
  const calls: Received[] = [];
  const state = { answer: { status: 200, headers: {} as Record<string, string> } };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      calls.push({ method: request.method!, headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(state.answer.status, state.answer.headers).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/edgeloop`;
  return { calls, state, url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe.each(DATABASES)('alert webhooks on $kind', ({ kind, skip }) => {
  let hub: TestHub;
  let projectId: string;
  let versionId: string;
  let hook: Awaited<ReturnType<typeof receiver>>;
  let elsewhere: Awaited<ReturnType<typeof receiver>>;
  let secret: string;
  /** The alert opened by the shifted events. */
  let alertId: string;
  const job = () => ({ projectId, modelVersionId: versionId, channel: 'production' });

  /** Stores the draws as prediction events of the monitored version from 30 installations, `ageSeconds` old. */
  async function store(draws: Draw[], ageSeconds: number): Promise<void> {
    const createdAt = new Date(Date.now() - ageSeconds * 1000);
    await feedbackStore.insertPredictionRows(
      hub.deps.db,
      predictionRows(draws, { projectId, modelVersionId: versionId, sender: (i) => ({ deviceId: `install-${ageSeconds}-${i % 30}` }), createdAt }),
    );
  }

  /** Runs the queued monitor.webhook jobs as the worker would, failing (for a retry) those that throw. */
  async function runQueuedWebhooks(): Promise<{ id: string; job: MonitorWebhookJob; retryLimit: number; retryBackoff: boolean; error: unknown }[]> {
    const ran = [];
    for (;;) {
      const [queued] = await hub.deps.queue.fetch<MonitorWebhookJob>(QUEUES.monitorWebhook, { batchSize: 1, includeMetadata: true });
      if (!queued) return ran;
      const error = await deliverAlertWebhook(hub.deps, queued.data).then(
        () => null,
        (e: unknown) => e,
      );
      if (error) await hub.deps.queue.fail(QUEUES.monitorWebhook, queued.id, { message: String(error) });
      else await hub.deps.queue.complete(QUEUES.monitorWebhook, queued.id);
      ran.push({ id: queued.id, job: queued.data, retryLimit: queued.retryLimit, retryBackoff: queued.retryBackoff, error });
    }
  }

  const statusOf = async (id: string) => (await alerts.findWithStream(hub.deps.db, id))!.webhookStatus;

  beforeAll(async () => {
    if (skip) return;
    hub = await createTestHub(kind);
    hook = await receiver();
    elsewhere = await receiver();
    await (await hub.as('admin')).projects.create({ slug: PROJECT, labels: [...SYNTHETIC_LABELS] });
    projectId = (await getProject(hub.deps, PROJECT)).id;
    await publishedVersion(hub.deps, PROJECT, MODEL, 1);
    versionId = (await models.versionIdsOf(hub.deps.db, projectId, [MODEL]))[0]!.id;
    await storeProfile(hub.deps, versionId, syntheticProfile());
  }, 120_000);
  afterAll(async () => {
    await hook?.close();
    await elsewhere?.close();
    await hub?.close();
  });

  it.skipIf(skip)('sends nothing while the project has no webhook URL', { timeout: 120_000 }, async () => {
    const before = await hub.deps.queue.getQueueSize(QUEUES.monitorWebhook);
    expect(await requestAlertWebhooks(hub.deps, projectId, { opened: [{ id: crypto.randomUUID() }], resolved: [crypto.randomUUID()] })).toBe(0);
    expect(await hub.deps.queue.getQueueSize(QUEUES.monitorWebhook)).toBe(before);
  });

  it.skipIf(skip)('answers a test post with why it was not delivered while no URL is set', async () => {
    expect(await (await hub.as('engineer')).monitoring.testWebhook({ project: PROJECT })).toEqual({
      delivered: false,
      status: null,
      detail: `"${PROJECT}" has no webhook URL: set webhookUrl in its monitoring settings first`,
    });
    expect(hook.calls).toEqual([]);
  });

  it.skipIf(skip)('answers the signing secret when set sets a webhook URL, and never from get', async () => {
    const engineer = await hub.as('engineer');
    const saved = await engineer.monitoring.settings.set({ project: PROJECT, webhookUrl: hook.url });
    expect(saved).toMatchObject({ webhookUrl: hook.url, webhookSecret: expect.stringMatching(/^[0-9a-f]{64}$/) });
    secret = saved.webhookSecret!;
    expect(secret).toBe(webhookSecret(hub.deps.keys.dir, projectId));
    // The same secret again (not rotated) when the URL is set again; none when a call leaves the URL alone.
    expect((await (await hub.as('admin')).monitoring.settings.set({ project: PROJECT, webhookUrl: hook.url })).webhookSecret).toBe(secret);
    expect((await engineer.monitoring.settings.set({ project: PROJECT, reviewRate: 0.05 })).webhookSecret).toBeNull();
    for (const role of ['admin', 'engineer', 'ci'] as const) {
      const read = await (await hub.as(role)).monitoring.settings.get({ project: PROJECT });
      expect(read.webhookUrl).toBe(hook.url);
      expect('webhookSecret' in read).toBe(false);
      expect(JSON.stringify(read)).not.toContain(secret);
    }
  });

  it.skipIf(skip)('posts a signed ping on testWebhook and says what the receiver answered', async () => {
    const engineer = await hub.as('engineer');
    expect(await engineer.monitoring.testWebhook({ project: PROJECT })).toEqual({ delivered: true, status: 200, detail: 'delivered: the receiver answered 200' });
    const ping = hook.calls.pop()!;
    expect(verifyWebhook(secret, ping.body, ping.headers[WEBHOOK_SIGNATURE_HEADER] as string, new Date())).toBe(true);
    expect(JSON.parse(ping.body)).toEqual({ type: 'ping', project: PROJECT, sentAt: expect.any(String) });
    hook.state.answer = { status: 404, headers: {} };
    expect(await engineer.monitoring.testWebhook({ project: PROJECT })).toEqual({ delivered: false, status: 404, detail: 'not delivered: 404' });
    hook.calls.pop();
    hook.state.answer = { status: 200, headers: {} };
  });

  it.skipIf(skip)('posts an alert opened by an update once, signed, with the alert as the API shows it', { timeout: 180_000 }, async () => {
    await store(drawSynthetic(21, 600), 40);
    await store(drawSynthetic(22, 600, { priors: [0.5, 0.5, 0] }), 20);
    const before = await hub.deps.queue.getQueueSize(QUEUES.monitorWebhook);
    const outcome = await runMonitorUpdateJob(hub.deps, job(), { now: later() });
    if (outcome.status !== 'processed') throw new Error(`expected processed, got ${outcome.status}`);
    expect(outcome.opened.map((a) => a.detector)).toContain('classMix');
    expect(await hub.deps.queue.getQueueSize(QUEUES.monitorWebhook)).toBe(before + outcome.opened.length);

    const ran = await runQueuedWebhooks();
    expect(ran.map((r) => r.job).sort((a, b) => a.alertId.localeCompare(b.alertId))).toEqual(
      outcome.opened.map((a) => ({ alertId: a.id, event: 'opened' })).sort((a, b) => a.alertId.localeCompare(b.alertId)),
    );
    expect(ran.every((r) => r.error === null && r.retryLimit === WEBHOOK_RETRY_LIMIT && r.retryBackoff)).toBe(true);
    expect(hook.calls.length).toBe(outcome.opened.length);

    const listed = await (await hub.as('engineer')).monitoring.alerts({ project: PROJECT, limit: 50 });
    for (const call of hook.calls) {
      expect(call.method).toBe('POST');
      expect(call.headers['content-type']).toBe('application/json');
      expect(call.headers['user-agent']).toBe('edgeloop-hub');
      const signature = call.headers[WEBHOOK_SIGNATURE_HEADER] as string;
      expect(verifyWebhook(secret, call.body, signature, new Date())).toBe(true);
      // Any other body, secret or a replay long after fails the check.
      expect(verifyWebhook(secret, call.body.replace('"alert.opened"', '"alert.resolved"'), signature, new Date())).toBe(false);
      expect(verifyWebhook('0'.repeat(64), call.body, signature, new Date())).toBe(false);
      expect(verifyWebhook(secret, call.body, signature, new Date(Date.now() + 3600_000))).toBe(false);
      const body = JSON.parse(call.body) as AlertWebhookBody;
      expect(Object.keys(body).sort()).toEqual(['alert', 'project', 'sentAt', 'type']);
      expect(body).toMatchObject({ type: 'alert.opened', project: PROJECT });
      expect(body.alert).toEqual(listed.find((a) => a.id === body.alert.id));
      expect(body.alert).toMatchObject({ model: MODEL, version: 1, channel: 'production', status: 'open' });
      expect(Math.abs(Date.parse(body.sentAt) / 1000 - Number(/t=(\d+)/.exec(signature)![1]))).toBeLessThan(1);
      expect(await statusOf(body.alert.id)).toMatch(new RegExp(`^delivered 200 at ${body.sentAt.replace(/[.]/g, '\\.')}$`));
    }
    alertId = outcome.opened.find((a) => a.detector === 'classMix')!.id;
  });

  it.skipIf(skip)('records a receiver error as failed and throws, so the queue retries it with backoff', async () => {
    hook.state.answer = { status: 500, headers: {} };
    const calls = hook.calls.length;
    await hub.deps.queue.send(QUEUES.monitorWebhook, { alertId, event: 'opened' }, { retryLimit: WEBHOOK_RETRY_LIMIT, retryDelay: 1, retryBackoff: true });
    const [ran] = await runQueuedWebhooks();
    expect(ran!.error).toBeInstanceOf(WebhookDeliveryError);
    expect(String(ran!.error)).toMatch(/failed: 500$/);
    expect(String(ran!.error)).not.toContain(secret);
    expect(String(ran!.error)).not.toContain(hook.url);
    expect(hook.calls.length).toBe(calls + 1);
    expect(await statusOf(alertId)).toBe('failed: 500');
    // pg-boss keeps the failed job for another try (cancelled here: the tests below post on their own).
    expect(await hub.deps.queue.getJobById(QUEUES.monitorWebhook, ran!.id)).toMatchObject({ state: 'retry', retryLimit: WEBHOOK_RETRY_LIMIT, retryBackoff: true });
    await hub.deps.queue.cancel(QUEUES.monitorWebhook, ran!.id);
    hook.state.answer = { status: 200, headers: {} };
  });

  it.skipIf(skip)('does not follow a redirect, and says why a receiver could not be reached', async () => {
    hook.state.answer = { status: 302, headers: { location: elsewhere.url } };
    await expect(deliverAlertWebhook(hub.deps, { alertId, event: 'opened' })).rejects.toThrow(/failed: 302 \(a redirect, not followed/);
    expect(elsewhere.calls).toEqual([]);
    expect(await statusOf(alertId)).toMatch(/^failed: 302 /);
    hook.state.answer = { status: 200, headers: {} };

    const closed = await receiver();
    await closed.close();
    await (await hub.as('engineer')).monitoring.settings.set({ project: PROJECT, webhookUrl: closed.url });
    await expect(deliverAlertWebhook(hub.deps, { alertId, event: 'opened' })).rejects.toThrow(WebhookDeliveryError);
    expect(await statusOf(alertId)).toBe('failed: cannot reach the receiver (ECONNREFUSED)');
  });

  it.skipIf(skip)('gives up on a receiver that does not answer in time, and never posts an oversized body', async () => {
    const sockets = new Set<Socket>();
    const silent = http.createServer(() => {}).on('connection', (socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`;
    try {
      const started = Date.now();
      expect(await postSigned(hub.deps, { url, projectId, body: '{}', at: new Date(), timeoutMs: 300 })).toEqual({ delivered: false, status: null, reason: 'no answer within 0.3 s' });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
    const calls = hook.calls.length;
    const huge = JSON.stringify({ type: 'ping', padding: 'x'.repeat(WEBHOOK_MAX_BODY_BYTES) });
    expect(await postSigned(hub.deps, { url: hook.url, projectId, body: huge, at: new Date() })).toMatchObject({ delivered: false, reason: expect.stringMatching(/^payload of \d+ bytes is over the/) });
    expect(hook.calls.length).toBe(calls);
  });

  it.skipIf(skip)('skips a job whose webhook was removed after it was queued', async () => {
    const calls = hook.calls.length;
    await (await hub.as('engineer')).monitoring.settings.set({ project: PROJECT, webhookUrl: null });
    expect(await deliverAlertWebhook(hub.deps, { alertId, event: 'opened' })).toEqual({ status: 'skipped' });
    expect(await statusOf(alertId)).toBe('skipped');
    expect(hook.calls.length).toBe(calls);
    expect(await deliverAlertWebhook(hub.deps, { alertId: crypto.randomUUID(), event: 'opened' })).toEqual({ status: 'missing' });
  });

  it.skipIf(skip)('has the monitor worker post the resolution when the stream is back to its reference', { timeout: 180_000 }, async () => {
    await (await hub.as('engineer')).monitoring.settings.set({ project: PROJECT, webhookUrl: hook.url });
    const calls = hook.calls.length;
    const worker = await startMonitorWorker(hub.deps, { name: 'test-webhooks' });
    try {
      await store(drawSynthetic(61, 1200), 10);
      const outcome = await runMonitorUpdateJob(hub.deps, job(), { now: later() });
      if (outcome.status !== 'processed') throw new Error(`expected processed, got ${outcome.status}`);
      expect(outcome.resolved).toContain(alertId);
      const deadline = Date.now() + 30_000;
      // Until the post arrived and the worker recorded its answer (stop() does not wait for a job in flight).
      while ((hook.calls.length < calls + outcome.resolved.length || !(await statusOf(alertId))?.startsWith('delivered')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    } finally {
      await worker.stop();
    }
    const resolution = hook.calls.slice(calls).map((call) => ({ call, body: JSON.parse(call.body) as AlertWebhookBody })).find((c) => c.body.alert.id === alertId);
    expect(resolution!.body).toMatchObject({ type: 'alert.resolved', project: PROJECT, alert: { id: alertId, status: 'resolved', resolvedAt: expect.any(String) } });
    expect(verifyWebhook(secret, resolution!.call.body, resolution!.call.headers[WEBHOOK_SIGNATURE_HEADER] as string, new Date())).toBe(true);
    expect(await statusOf(alertId)).toMatch(/^delivered 200 at /);
  });
});
