/**
 * SIGTERM to a real hub process under load: every request sent before the signal gets its whole, successful answer,
 * /readyz answers 503 once shutdown begins, and the process exits 0 within its grace period.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '../bin/edgeloop.js');
const GRACE_MS = 15_000;
const REQUESTS = 60;

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** The hub's stderr so far, and a wait for a line matching `pattern`. */
function watchLog(child: ChildProcess) {
  let text = '';
  const waiters: { pattern: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    text += chunk;
    for (const waiter of [...waiters]) {
      const match = text.match(waiter.pattern);
      if (match) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(match);
      }
    }
  });
  return {
    text: () => text,
    waitFor: (pattern: RegExp) =>
      new Promise<RegExpMatchArray>((resolve, reject) => {
        const match = text.match(pattern);
        if (match) return resolve(match);
        waiters.push({ pattern, resolve });
        child.once('exit', (code) => reject(new Error(`hub exited (${code}) before logging ${pattern}:\n${text}`)));
      }),
  };
}

interface Answer {
  status: number;
  body: string;
}

/** One request on its own connection, so it is on the wire when this returns control. */
function request(url: string, options: { method?: string; token?: string; body?: unknown } = {}): Promise<Answer> {
  const upload = startRequest(url, options);
  upload.finish();
  return upload.answer;
}

/** A request whose body is sent in two halves: the second when `finish` is called (a slow upload). */
function startRequest(url: string, options: { method?: string; token?: string; body?: unknown } = {}): { finish(): void; answer: Promise<Answer> } {
  const body = options.body === undefined ? '' : JSON.stringify(options.body);
  const req = http.request(url, {
    method: options.method ?? 'GET',
    agent: false,
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}),
    },
  });
  const half = Math.floor(body.length / 2);
  if (half > 0) req.write(body.slice(0, half));
  else req.flushHeaders();
  const answer = new Promise<Answer>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      res.on('error', reject);
    });
    req.on('error', (error) => reject(new Error(`${options.method ?? 'GET'} ${url}: ${error.message}`)));
  });
  return { finish: () => req.end(body.slice(half)), answer };
}

it('a hub under load answers every request sent before SIGTERM, says it is not ready, and exits 0', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-shutdown-'));
  cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HUB_DATA_DIR: dataDir,
    HUB_PORT: '0',
    DEMO_PROJECT: 'false',
    TRAINING_WORKER: 'false',
    SHUTDOWN_GRACE_MS: String(GRACE_MS),
    LOG_LEVEL: 'info',
  };
  for (const name of ['DATABASE_URL', 'S3_ENDPOINT', 'HUB_PUBLIC_URL', 'MIGRATE_ON_START']) delete env[name];
  const child = spawn(process.execPath, [CLI, 'serve'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  cleanups.push(() => child.exitCode === null && child.kill('SIGKILL'));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const log = watchLog(child);

  const [, base] = await log.waitFor(/hub listening on (http:\/\/\S+)/);
  const admin = fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim();
  const ready = await request(`${base}/readyz`);
  expect({ status: ready.status, body: JSON.parse(ready.body) }).toEqual({
    status: 200,
    body: { ready: true, checks: { database: 'ok', objectStore: 'ok', migrations: 'ok' } },
  });

  // A readiness probe whose request is on its way (its headers not yet ended) when the signal comes.
  const probe = net.connect(Number(new URL(base!).port), new URL(base!).hostname);
  await new Promise((resolve) => probe.once('connect', resolve));
  let probeAnswer = '';
  probe.setEncoding('utf8').on('data', (chunk: string) => (probeAnswer += chunk));
  const probeClosed = new Promise((resolve) => probe.once('close', resolve));
  probe.write('GET /readyz HTTP/1.1\r\nHost: hub\r\n');

  // Uploads that have begun and are not over when the signal comes: in flight by construction.
  const uploads = Array.from({ length: 4 }, (_, i) => ({
    slug: `upload-${i}`,
    ...startRequest(`${base}/trpc/projects.create`, { method: 'POST', token: admin, body: { slug: `upload-${i}`, labels: ['cat', 'dog'] } }),
  }));
  // The load: project creations (each a transaction) and tRPC batches of reads, all sent at once.
  const sent = Array.from({ length: REQUESTS }, (_, i) =>
    (i % 2 === 0
      ? request(`${base}/trpc/projects.create`, { method: 'POST', token: admin, body: { slug: `load-${i}`, labels: ['cat', 'dog'] } })
      : request(`${base}/trpc/${Array(8).fill('projects.list').join(',')}?batch=1&input=${encodeURIComponent('{}')}`, { token: admin })
    ).then((answer) => ({ i, ...answer })),
  );
  // Once the hub is answering the load, most of it is still in flight.
  await Promise.race(sent);
  child.kill('SIGTERM');

  await log.waitFor(/SIGTERM: shutting down/);
  probe.write('\r\n');
  for (const upload of uploads) upload.finish();
  const answers = await Promise.all(sent);
  const uploaded = await Promise.all(uploads.map(async ({ slug, answer }) => ({ slug, ...(await answer) })));
  await probeClosed;
  const { code, signal } = await Promise.race([
    exited,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the hub did not exit within its grace period:\n${log.text()}`)), GRACE_MS + 5000)),
  ]);

  for (const { slug, status, body } of uploaded) {
    expect(status, body).toBe(200);
    expect(JSON.parse(body)).toMatchObject({ result: { data: { slug } } });
  }
  for (const { i, status, body } of answers) {
    expect(status, body).toBe(200);
    if (i % 2 === 0) expect(JSON.parse(body)).toMatchObject({ result: { data: { slug: `load-${i}` } } });
    else {
      const batch = JSON.parse(body) as { result?: { data: unknown[] } }[];
      expect(batch).toHaveLength(8);
      for (const call of batch) expect(Array.isArray(call.result?.data)).toBe(true);
    }
  }
  expect(probeAnswer).toMatch(/^HTTP\/1\.1 503 /);
  expect(JSON.parse(probeAnswer.match(/\{.*\}/s)![0])).toEqual({ ready: false, reason: 'shutting down' });
  expect({ code, signal }).toEqual({ code: 0, signal: null });
  expect(log.text()).toMatch(/shutdown: no longer accepting connections/);
  expect(log.text()).toMatch(/shutdown: requests in flight finished/);
  expect(log.text()).toMatch(/shutdown: done/);
});
