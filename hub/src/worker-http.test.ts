/**
 * The worker's HTTP listener (WORKER_HTTP_PORT): its routes and access rule over real HTTP, and the real
 * `edgeloop worker` process serving them: ready on a shared PostgreSQL and S3, its training and job metrics after it
 * trains a run queued by a hub; on SIGTERM mid-run, not ready but answering through the grace, then closed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeploymentProcess, startProcess } from '../test/deployment-processes';
import { freePort } from '../test/free-port';
import { smallFashionVersion } from '../test/small-dataset-version';
import { DATABASES, type TestHub, createTestHub, freshPostgres } from '../test/test-hub';
import type { Caller } from './deps';
import { loadEnv } from './env';
import { type Hub, openHub } from './hub';
import { QUEUES } from './jobs/job-queue';
import { startEmbeddedS3, type EmbeddedS3 } from './storage/embedded-s3';
import * as runs from './training/run.repository';
import { createRun, getRun } from './training/run.service';
import { type WorkerHttp, startWorkerHttp } from './worker-http';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '../bin/edgeloop.js');
const METRICS_TOKEN = 'a-metrics-token-for-workers';
const engineer: Caller = { tokenId: null, name: 'test-engineer', role: 'engineer', projects: null };

/** The sum of a metric's samples in Prometheus' text format whose labels include `labels`; null when it has none. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | null {
  const lines = text.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
  const matching = lines.filter((line) => Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)));
  return matching.length === 0 ? null : matching.reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

describe('the worker HTTP listener, in-process on PGlite', () => {
  let hub: TestHub;
  let open: WorkerHttp;
  let guarded: WorkerHttp;
  beforeAll(async () => {
    hub = await createTestHub('pglite');
    open = await startWorkerHttp(hub.deps, { port: 0, host: '127.0.0.1', metricsToken: undefined });
    guarded = await startWorkerHttp(hub.deps, { port: 0, host: '127.0.0.1', metricsToken: METRICS_TOKEN });
  });
  afterAll(async () => {
    await open?.close();
    await guarded?.close();
    await hub?.close();
  });

  it('answers /healthz, /readyz and /metrics, and nothing else', async () => {
    expect((await fetch(`${open.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${open.url}/readyz`);
    expect({ status: ready.status, body: await ready.json() }).toEqual({ status: 200, body: { ready: true, checks: { database: 'ok', objectStore: 'ok', migrations: 'ok' } } });
    const metrics = await fetch(`${open.url}/metrics`);
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    // The process's own figures and the shared ones read from the database.
    expect(sample(text, 'edgeloop_training_images_total')).not.toBeNull();
    expect(sample(text, 'edgeloop_queue_jobs', { queue: QUEUES.train, state: 'created' })).toBe(0);
    expect(sample(text, 'process_cpu_seconds_total')).not.toBeNull();
    for (const other of ['/', '/trpc/projects.list', '/cdn/x', '/s3/edgeloop/x']) expect((await fetch(`${open.url}${other}`)).status, other).toBe(404);
  });

  it('keeps the hub\'s metrics rule: loopback callers no proxy forwarded, or the METRICS_TOKEN', async () => {
    expect((await fetch(`${open.url}/metrics`, { headers: { 'x-forwarded-for': '203.0.113.9' } })).status).toBe(403);
    expect((await fetch(`${guarded.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${guarded.url}/metrics`, { headers: { authorization: 'Bearer not-the-metrics-token' } })).status).toBe(401);
    expect((await fetch(`${guarded.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status).toBe(200);
    // Probes need no token.
    expect((await fetch(`${guarded.url}/readyz`)).status).toBe(200);
  });

  it('answers /readyz 503 once shutting down, and stops listening when closed', async () => {
    const listener = await startWorkerHttp(hub.deps, { port: 0, host: '127.0.0.1', metricsToken: undefined });
    listener.shutDown();
    const ready = await fetch(`${listener.url}/readyz`);
    expect({ status: ready.status, body: await ready.json() }).toEqual({ status: 503, body: { ready: false, reason: 'shutting down' } });
    expect((await fetch(`${listener.url}/healthz`)).status).toBe(200);
    await listener.close();
    await expect(fetch(`${listener.url}/healthz`)).rejects.toThrow();
  });

  it('is off unless WORKER_HTTP_PORT is set, which must be a port', () => {
    expect(loadEnv({}).WORKER_HTTP_PORT).toBeUndefined();
    expect(loadEnv({ WORKER_HTTP_PORT: '9464' }).WORKER_HTTP_PORT).toBe(9464);
    for (const bad of ['70000', '-1', 'http', '1.5']) expect(() => loadEnv({ WORKER_HTTP_PORT: bad }), bad).toThrow(/WORKER_HTTP_PORT: WORKER_HTTP_PORT must be a port number/);
  });
});

const postgres = DATABASES.find((d) => d.kind === 'postgres')!;

describe.skipIf(postgres.skip)('`edgeloop worker` with WORKER_HTTP_PORT, on PostgreSQL 15 and an S3 server shared with a hub', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-worker-http-'));
  let s3: EmbeddedS3;
  let database: Awaited<ReturnType<typeof freshPostgres>>;
  let hub: Hub;
  let worker: DeploymentProcess;
  let base: string;

  beforeAll(async () => {
    database = await freshPostgres();
    await database.database.close();
    s3 = await startEmbeddedS3({ directory: path.join(tmp, 's3'), bucket: 'edgeloop' });
    const shared = {
      DATABASE_URL: database.url,
      S3_ENDPOINT: s3.endpoint,
      S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
    };
    hub = await openHub(loadEnv({ ...shared, HUB_DATA_DIR: path.join(tmp, 'hub'), LOG_LEVEL: 'silent' }));
    const port = await freePort();
    const settings = { ...shared, HUB_DATA_DIR: path.join(tmp, 'worker'), HUB_HOST: '127.0.0.1', WORKER_HTTP_PORT: String(port), SHUTDOWN_GRACE_MS: '5000' };
    const started = await startProcess('worker', [process.execPath, CLI, 'worker', '--name', 'http-test'], settings, { log: /worker HTTP on (http:\/\/[^\s"]+)/ });
    worker = started.process;
    base = started.match[1]!;
    expect(base).toBe(`http://127.0.0.1:${port}`);
  }, 180_000);
  afterAll(async () => {
    await worker?.kill('SIGKILL');
    await hub?.close();
    await s3?.close();
    await database?.dropDatabase();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** A run of the reference CNN on a small Fashion-MNIST version, queued through the hub for the worker; its id. */
  const queueRun = async (epochs: number): Promise<string> => {
    const versionId = await smallFashionVersion(hub.deps, 'fashion', { train: 96, val: 32, test: 32 });
    const model = { architecture: 'reference-cnn' as const, filters: [4, 8], denseUnits: 32, dropout: 0 };
    return (await createRun(hub.deps, engineer, { project: 'fashion', datasetVersion: versionId, model, train: { epochs, batchSize: 32 } })).id;
  };
  /** The run once `reached` says so (polled every 100 ms, up to 3 minutes). */
  const runUntil = async (runId: string, reached: (run: Awaited<ReturnType<typeof getRun>>) => boolean) => {
    let run = await getRun(hub.deps, runId);
    for (let i = 0; !reached(run); i++) {
      expect(i, `run ${run.status}:\n${worker.log()}`).toBeLessThan(1800);
      await new Promise((resolve) => setTimeout(resolve, 100));
      run = await getRun(hub.deps, runId);
    }
    return run;
  };

  it('is ready, trains a run the hub queued, and shows its training and job metrics', async () => {
    const ready = await fetch(`${base}/readyz`);
    expect({ status: ready.status, body: await ready.json() }).toEqual({ status: 200, body: { ready: true, checks: { database: 'ok', objectStore: 'ok', migrations: 'ok' } } });
    const before = await (await fetch(`${base}/metrics`)).text();
    expect(sample(before, 'edgeloop_training_images_total')).toBe(0);
    expect(sample(before, 'edgeloop_job_duration_seconds_count', { queue: QUEUES.train, outcome: 'ok' })).toBeNull();

    const finished = await runUntil(await queueRun(2), (run) => !['queued', 'running'].includes(run.status));
    expect(finished.status, finished.error ?? '').toBe('succeeded');
    // Trained by the worker process, not the hub (which runs no worker here).
    expect(JSON.stringify(finished.lineage)).toContain('"worker":"http-test"');
    const split = finished.logs.map((l) => /^train (\d+), val \d+, test \d+ images$/.exec(l.line)).find(Boolean);
    expect(split, finished.logs.map((l) => l.line).join('\n')).toBeTruthy();

    // The job is recorded as done just after the run row says succeeded.
    let text = '';
    for (let i = 0; i < 100; i++) {
      text = await (await fetch(`${base}/metrics`)).text();
      if (sample(text, 'edgeloop_job_duration_seconds_count', { queue: QUEUES.train, outcome: 'ok' }) === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(sample(text, 'edgeloop_job_duration_seconds_count', { queue: QUEUES.train, outcome: 'ok' })).toBe(1);
    // Two epochs over the training split (rate() of the counter gives images/s across workers); the gauge is the last run's while it trains.
    expect(sample(text, 'edgeloop_training_images_total')).toBe(2 * Number(split![1]));
    expect(sample(text, 'edgeloop_training_images_per_second')).not.toBeNull();
  }, 240_000);

  it('on SIGTERM mid-run: not ready but still answering while the run gets its grace, then the run back in the queue, exit 0, no listener', async () => {
    // Longer than the worker's 5 s grace on this data, so the run is still training when the grace ends.
    const run = await runUntil(await queueRun(500), (r) => r.status === 'running' && r.progress !== null);
    const exited = new Promise<number | null>((resolve) => worker.child.once('exit', (code) => resolve(code)));
    worker.child.kill('SIGTERM');
    let ready = await fetch(`${base}/readyz`);
    for (let i = 0; ready.status === 200 && i < 50; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      ready = await fetch(`${base}/readyz`);
    }
    expect({ status: ready.status, body: await ready.json() }).toEqual({ status: 503, body: { ready: false, reason: 'shutting down' } });
    expect(worker.running(), 'the worker waits for its run through the grace period').toBe(true);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(await exited, worker.log()).toBe(0);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
    // Its job step outlived the grace: handed back to the queue for another worker, not failed.
    const after = (await runs.find(hub.deps.db, run.id))!;
    expect(after.status, after.error ?? '').not.toBe('failed');
    expect((await hub.deps.queue.getJobById(QUEUES.train, after.jobId!))?.state).toBe('retry');
  }, 120_000);
});
