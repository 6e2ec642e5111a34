/** The hub's HTTP limits: request bodies and batches are bounded before a caller can make the hub hold them. */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { MAX_BATCH_CALLS, MAX_BODY_BYTES, MAX_SYNC_BODY_BYTES } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestHub, createTestHub } from '../test/test-hub';
import { MAX_PREDICT_BODY_BYTES } from './api/limits';
import { createHubServer, listen } from './server';

const MB = 1024 * 1024;

interface Answer {
  status: number;
  body: { error?: { message: string; data: { code: string } } };
  /** Bytes the client had written when the answer arrived. */
  sentWhenAnswered: number;
}

/**
 * Streams `total` bytes of a JSON-looking body from one reused buffer (so the client holds almost nothing), with or
 * without a Content-Length, and keeps sending after the answer arrives, as a hostile client would.
 */
function streamBody(port: number, procedure: string, secret: string, total: number, declareLength: boolean): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    let answer: Omit<Answer, 'body'> | undefined;
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: `/trpc/${procedure}`,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}`, ...(declareLength ? { 'content-length': total } : {}) },
    });
    req.on('response', (res) => {
      answer = { status: res.statusCode ?? 0, sentWhenAnswered: sent };
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ ...answer!, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    // The hub may close the connection once it has answered; only an error before the answer is a failure.
    req.on('error', (error) => (answer ? undefined : reject(error)));
    const head = Buffer.from('{"project":"pets","predictions":[],"x":"');
    req.write(head);
    sent = head.length;
    const pump = () => {
      while (sent < total && !req.destroyed) {
        const n = Math.min(chunk.length, total - sent);
        sent += n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

describe('hub HTTP limits', () => {
  let hub: TestHub;
  let port: number;
  let server: http.Server;
  const webRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-web-'));

  beforeAll(async () => {
    hub = await createTestHub('pglite');
    await (await hub.as('admin')).projects.create({ slug: 'pets', labels: ['cat', 'dog'] });
    server = createHubServer(hub.deps, { webRoot });
    ({ port } = await listen(server, 0, '127.0.0.1'));
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await hub?.close();
  });

  it('keeps memory bounded under 4 concurrent 200 MB bodies and answers each 413 with the limit', { timeout: 120_000 }, async () => {
    const device = await hub.secretFor('device');
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    try {
      // Declared lengths are refused before a byte is read; undeclared (chunked) ones when they pass the limit, here
      // the largest one the hub has (registry.predict's image allowance).
      const answers = await Promise.all([
        ...[1, 2].map(() => streamBody(port, 'feedback.syncPredictions', device, 200 * MB, true)),
        ...[1, 2].map(() => streamBody(port, 'registry.predict', device, 200 * MB, false)),
      ]);
      for (const answer of answers) {
        expect(answer.status).toBe(413);
        expect(answer.body.error!.data.code).toBe('PAYLOAD_TOO_LARGE');
        expect(answer.body.error!.message).toMatch(/^request body (of \d+ bytes exceeds|is larger than) the limit of \d+ bytes \(\d+\.\d MiB\) for this call; send smaller batches$/);
        // Answered early: long before the 200 MB were sent.
        expect(answer.sentWhenAnswered).toBeLessThan(100 * MB);
      }
      expect(answers[0]!.body.error!.message).toBe(`request body of ${200 * MB} bytes exceeds the limit of ${MAX_SYNC_BODY_BYTES} bytes (8.0 MiB) for this call; send smaller batches`);
      expect(answers[2]!.body.error!.message).toContain(`the limit of ${MAX_PREDICT_BODY_BYTES} bytes`);
    } finally {
      clearInterval(sampler);
    }
    expect((peak - baseline) / MB, `RSS grew from ${Math.round(baseline / MB)} MB to ${Math.round(peak / MB)} MB`).toBeLessThan(100);
  });

  it('closes the connection after refusing a declared body, instead of reading and discarding all of it', async () => {
    const device = await hub.secretFor('device');
    const socket = net.connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (c: Buffer) => received.push(c));
    // Only the head and a few bytes of the 200 MB body are sent; a kept-alive connection would wait for the rest.
    socket.write(
      `POST /trpc/feedback.syncPredictions HTTP/1.1\r\nhost: hub\r\nauthorization: Bearer ${device}\r\ncontent-type: application/json\r\ncontent-length: ${200 * MB}\r\n\r\n{"project":"pets"`,
    );
    const closedByHub = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 5_000);
      socket.on('close', () => (clearTimeout(timer), resolve(true)));
    });
    socket.destroy();
    const answer = Buffer.concat(received).toString('utf8');
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toMatch(/\r\nconnection: close\r\n/i);
    expect(closedByHub).toBe(true);
  });

  it("names a batch's own body limit (the largest of its calls') when a streamed batch passes it", async () => {
    const admin = await hub.secretFor('admin');
    const answer = await streamBody(port, 'datasets.commit,registry.predict?batch=1', admin, MAX_PREDICT_BODY_BYTES + 64 * 1024, false);
    expect(answer.status).toBe(413);
    const calls = answer.body as unknown as { error: { message: string } }[];
    expect(calls).toHaveLength(2);
    // Each call's answer used to name its own limit: 1 MiB for datasets.commit, though the batch was read to 13.4 MiB.
    for (const call of calls) expect(call.error.message).toBe(`request body is larger than the limit of ${MAX_PREDICT_BODY_BYTES} bytes (13.4 MiB) for this call; send smaller batches`);
  });

  it('limits other procedures to MAX_BODY_BYTES, streamed or declared', async () => {
    const admin = await hub.secretFor('admin');
    for (const declared of [true, false]) {
      const answer = await streamBody(port, 'datasets.commit', admin, MAX_BODY_BYTES + 1024, declared);
      expect(answer.status).toBe(413);
      expect(answer.body.error!.message).toContain(`the limit of ${MAX_BODY_BYTES} bytes (1.0 MiB)`);
    }
  });

  it(`refuses a batch of more than ${MAX_BATCH_CALLS} calls, GET or POST, however the commas are written`, async () => {
    const secret = await hub.secretFor('engineer');
    const headers = { authorization: `Bearer ${secret}`, 'content-type': 'application/json' };
    const batch = (n: number, separator = ',', procedure = 'projects.list') => Array.from({ length: n }, () => procedure).join(separator);
    const allowed = await fetch(`http://127.0.0.1:${port}/trpc/${batch(MAX_BATCH_CALLS)}?batch=1&input={}`, { headers });
    expect(allowed.status).toBe(200);
    expect(((await allowed.json()) as unknown[]).length).toBe(MAX_BATCH_CALLS);
    for (const [method, path] of [
      ['GET', `${batch(1_200, ',', 'health')}?batch=1&input={}`],
      ['GET', `${batch(11, '%2C')}?batch=1&input={}`],
      ['POST', `${Array.from({ length: 20 }, () => 'feedback.syncPredictions').join(',')}?batch=1`],
    ] as const) {
      const response = await fetch(`http://127.0.0.1:${port}/trpc/${path}`, { method, headers, body: method === 'POST' ? '{}' : undefined });
      expect(response.status, path.slice(0, 60)).toBe(400);
      expect(((await response.json()) as Answer['body']).error!.message).toMatch(new RegExp(`^a batch may hold at most ${MAX_BATCH_CALLS} calls; this one has (1200|11|20)$`));
    }
  });

  it('answers a rate-limited predict with 429 and data.retryAfterSeconds', async () => {
    const secret = await hub.secretFor('labeler');
    const call = () =>
      fetch(`http://127.0.0.1:${port}/trpc/registry.predict`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ project: 'pets', model: 'none', imageBase64: 'aGVsbG8=' }),
      });
    let response = await call();
    for (let i = 0; i < 40 && response.status !== 429; i++) response = await call();
    expect(response.status).toBe(429);
    const body = (await response.json()) as { error: { message: string; data: { code: string; retryAfterSeconds: number } } };
    expect(body.error.data.code).toBe('TOO_MANY_REQUESTS');
    expect(body.error.data.retryAfterSeconds).toBeGreaterThan(0);
    expect(body.error.data.retryAfterSeconds).toBeLessThanOrEqual(0.2);
    expect(body.error.message).toMatch(/^registry\.predict: at most 20 calls at once and 5 per second per token; retry in 0\.\d s$/);
  });
});
