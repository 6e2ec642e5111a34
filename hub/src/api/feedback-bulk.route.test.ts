import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  BULK_PREDICTIONS_PATH,
  MAX_BULK_BATCH,
  MAX_BULK_BODY_BYTES,
  type PredictionEvent,
  type SyncResult,
  embeddingFromBytes,
  embeddingToBase64,
} from '@edgeloop/shared';
import { inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPrediction } from '../../test/feedback-fixtures';
import { publishedVersion } from '../../test/published-version';
import { type TestHub, createTestHub } from '../../test/test-hub';
import { predictions } from '../db/schema';
import { createHubServer, listen } from '../server';

const LABELS = ['cat', 'dog', 'bird'];

/** The event with its embedding as base64 float32 instead of numbers. */
function asBase64({ embedding, ...rest }: PredictionEvent): Record<string, unknown> {
  return { ...rest, embeddingBase64: embeddingToBase64(embedding) };
}

interface Answer {
  status: number;
  body: SyncResult & { error?: { code: string; message: string } };
  headers: Headers;
}

describe('bulk prediction upload', () => {
  let hub: TestHub;
  let base: string;
  let server: http.Server;
  const webRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-web-'));

  beforeAll(async () => {
    hub = await createTestHub('pglite');
    const admin = await hub.as('admin');
    await admin.projects.create({ slug: 'pets', labels: LABELS });
    await admin.projects.create({ slug: 'other', labels: LABELS });
    await publishedVersion(hub.deps, 'pets', 'pets', 1);
    server = createHubServer(hub.deps, { webRoot });
    const { port } = await listen(server, 0, '127.0.0.1');
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await hub?.close();
  });

  const send = async (body: unknown, token: string | null, init: RequestInit = {}): Promise<Answer> => {
    const response = await fetch(`${base}${BULK_PREDICTIONS_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      ...init,
    });
    return { status: response.status, body: (await response.json()) as Answer['body'], headers: response.headers };
  };

  it('stores events with base64 or number embeddings once, with the same answer as syncPredictions', async () => {
    const device = await hub.secretFor('device', { projects: ['pets'] });
    const numbers = testPrediction({ embedding: [1.5, -2, 0.1] });
    const packed = testPrediction({ embedding: [Math.fround(0.3), -7, 2 ** -20, 123456.5] });
    const batch = [numbers, asBase64(packed)];
    expect((await send({ project: 'pets', predictions: batch }, device)).body).toEqual({ received: 2, inserted: 2, duplicates: 0, rejected: [] });
    expect((await send({ project: 'pets', predictions: [...batch, asBase64(testPrediction())] }, device)).body).toEqual({ received: 3, inserted: 1, duplicates: 2, rejected: [] });

    const rows = await hub.deps.db.select().from(predictions).where(inArray(predictions.id, [numbers.id, packed.id]));
    const byId = new Map(rows.map((row) => [row.id, row]));
    expect([...embeddingFromBytes(byId.get(numbers.id)!.embedding)]).toEqual([1.5, -2, 0.1].map(Math.fround));
    expect([...embeddingFromBytes(byId.get(packed.id)!.embedding)]).toEqual(packed.embedding.map(Math.fround));
    expect(byId.get(packed.id)).toMatchObject({ sentBy: 'test-device', deviceId: 'device-0001', appVersion: '0.9.0', channel: 'production', label: 'cat' });
  });

  it('rejects each bad event alone, naming the field, at its index in the batch', async () => {
    const device = await hub.secretFor('device', { projects: ['pets'] });
    const good = testPrediction();
    const horse = testPrediction({ top: [{ label: 'horse', probability: 1 }] });
    const noVersion = testPrediction({ version: 4 });
    const both = { ...asBase64(testPrediction()), embedding: [1] };
    const notBase64 = { ...asBase64(testPrediction()), embeddingBase64: 'abc$' };
    const partial = { ...asBase64(testPrediction()), embeddingBase64: Buffer.from([1, 2, 3, 4, 5, 6]).toString('base64') };
    const nan = { ...asBase64(testPrediction()), embeddingBase64: Buffer.from(new Float32Array([1, Number.NaN]).buffer).toString('base64') };
    const tooLong = { ...asBase64(testPrediction()), embeddingBase64: Buffer.alloc(4 * 2049).toString('base64') };
    const badDevice = asBase64(testPrediction({ deviceId: 'no spaces please' }));
    const batch = [notBase64, good, horse, both, noVersion, partial, nan, tooLong, badDevice, 'garbage'];
    const { status, body } = await send({ project: 'pets', predictions: batch }, device);
    expect(status).toBe(200);
    expect(body).toMatchObject({ received: 10, inserted: 1, duplicates: 0 });
    expect(body.rejected.map((r) => [r.index, r.id !== null, r.reason])).toEqual([
      [0, true, "embeddingBase64: must be base64 of the embedding's float32 values, little-endian"],
      [2, true, 'top.0.label "horse" is not a label of project "pets"; valid labels: cat, dog, bird'],
      [3, true, 'embeddingBase64: send the embedding once, as embedding or as embeddingBase64, not both'],
      [4, true, 'version: model "pets" of "pets" has no version 4'],
      [5, true, 'embeddingBase64: must hold whole float32 values (4 bytes each), got 6 bytes'],
      [6, true, 'embeddingBase64: value 1 is NaN (NaN and infinities are refused)'],
      [7, true, 'embeddingBase64: embedding must hold at most 2048 values (10924 base64 characters)'],
      [8, true, expect.stringMatching(/^deviceId: /)],
      [9, false, 'event: Invalid input: expected object, received string'],
    ]);
  });

  it('checks the token, the role and the project like tRPC, before storing anything', async () => {
    const event = testPrediction();
    const noToken = await send({ project: 'pets', predictions: [event] }, null);
    expect(noToken.status).toBe(401);
    expect(noToken.body.error).toEqual({ code: 'UNAUTHORIZED', message: 'missing or invalid API token: send Authorization: Bearer <token>' });
    expect((await send({ project: 'pets', predictions: [event] }, 'elt_not-a-token')).status).toBe(401);
    const ci = await send({ project: 'pets', predictions: [event] }, await hub.secretFor('ci', { projects: ['pets'] }));
    expect(ci).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN', message: 'role "ci" may not call this; allowed roles: admin, engineer, labeler, device' } } });
    const device = await hub.secretFor('device', { projects: ['pets'] });
    for (const project of ['other', 'does-not-exist']) {
      const outside = await send({ project, predictions: [event] }, device);
      expect(outside).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN', message: `this token acts in project(s) pets only; it may not act on "${project}"` } } });
    }
    const missing = await send({ predictions: [event] }, device);
    expect(missing).toMatchObject({ status: 400, body: { error: { message: 'project: required (this token acts in named projects only)' } } });
    // An admin acts on every project: an unknown one is simply not there.
    expect(await send({ project: 'nope', predictions: [event] }, await hub.secretFor('admin'))).toMatchObject({ status: 404, body: { error: { message: 'no project "nope"' } } });
    const stored = await hub.deps.db.select({ id: predictions.id }).from(predictions).where(inArray(predictions.id, [event.id]));
    expect(stored).toEqual([]);
    // Other roles that send predictions may use it too.
    for (const role of ['labeler', 'engineer'] as const) {
      expect((await send({ project: 'pets', predictions: [testPrediction()] }, await hub.secretFor(role))).body).toMatchObject({ inserted: 1 });
    }
  });

  it('refuses a batch or a body over its limits and a body that is not JSON, naming what is wrong', async () => {
    const device = await hub.secretFor('device', { projects: ['pets'] });
    const many = Array.from({ length: MAX_BULK_BATCH + 1 }, () => 0);
    expect(await send({ project: 'pets', predictions: many }, device)).toMatchObject({
      status: 400,
      body: { error: { code: 'BAD_REQUEST', message: `predictions: at most ${MAX_BULK_BATCH} per call` } },
    });
    expect(await send('{"project": "pets", "predictions": [', device)).toMatchObject({ status: 400, body: { error: { message: 'body: must be JSON: { "project": ..., "predictions": [...] }' } } });
    expect(await send({ project: 'pets', predictions: 'all of them' }, device)).toMatchObject({ status: 400, body: { error: { message: expect.stringMatching(/^predictions: /) } } });
    const get = await fetch(`${base}${BULK_PREDICTIONS_PATH}`, { headers: { authorization: `Bearer ${device}` } });
    expect(get.status).toBe(405);

    // A declared length over the limit: answered from the head alone, and the connection closed, not read to its end.
    const socket = net.connect(Number(new URL(base).port), '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (c: Buffer) => received.push(c));
    socket.write(
      `POST ${BULK_PREDICTIONS_PATH} HTTP/1.1\r\nhost: hub\r\nauthorization: Bearer ${device}\r\ncontent-type: application/json\r\ncontent-length: ${MAX_BULK_BODY_BYTES + 1}\r\n\r\n{"project":"pets"`,
    );
    const closedByHub = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 5_000);
      socket.on('close', () => (clearTimeout(timer), resolve(true)));
    });
    socket.destroy();
    const [head, body] = Buffer.concat(received).toString('utf8').split('\r\n\r\n');
    expect(closedByHub).toBe(true);
    expect(head).toMatch(/^HTTP\/1\.1 413 /);
    expect(head).toMatch(/\r\nconnection: close\r\n/i);
    expect((JSON.parse(body!) as Answer['body']).error!.message).toBe(
      `request body of ${MAX_BULK_BODY_BYTES + 1} bytes exceeds the limit of ${MAX_BULK_BODY_BYTES} bytes (16.0 MiB) for this call; send smaller batches`,
    );
    // No declared length: refused once the bytes received pass the limit, long before the client is done.
    const streamed = await new Promise<{ status: number; message: string }>((resolve, reject) => {
      const req = http.request(`${base}${BULK_PREDICTIONS_PATH}`, { method: 'POST', headers: { authorization: `Bearer ${device}`, 'content-type': 'application/json' } });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, message: (JSON.parse(Buffer.concat(chunks).toString()) as Answer['body']).error!.message }));
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(1024 * 1024, 'a');
      let sent = 0;
      const pump = () => {
        while (sent < 100 && !req.destroyed) if ((sent++, !req.write(chunk))) return void req.once('drain', pump);
        req.end();
      };
      pump();
    });
    expect(streamed).toEqual({ status: 413, message: `request body is larger than the limit of ${MAX_BULK_BODY_BYTES} bytes (16.0 MiB) for this call; send smaller batches` });
  });

  it("hides an internal error's text behind an id the hub logs with it", async () => {
    const lines: string[] = [];
    const log = hub.deps.log;
    hub.deps.log = { ...log, error: (line: string) => lines.push(line) };
    await hub.deps.db.execute(sql`alter table predictions rename to predictions_away`);
    try {
      const { status, body } = await send({ project: 'pets', predictions: [testPrediction()] }, await hub.secretFor('device', { projects: ['pets'] }));
      expect(status).toBe(500);
      const id = /^internal error \(logged as ([0-9a-f]{8})\)$/.exec(body.error!.message)?.[1];
      expect(id, body.error!.message).toBeDefined();
      expect(JSON.stringify(body)).not.toMatch(/insert|predictions|params/i);
      expect(lines.find((line) => line.includes(`[${id}]`))).toMatch(/^POST \/v1\/feedback\/predictions \[[0-9a-f]{8}\]: .*predictions/s);
    } finally {
      await hub.deps.db.execute(sql`alter table predictions_away rename to predictions`);
      hub.deps.log = log;
    }
  });
});
