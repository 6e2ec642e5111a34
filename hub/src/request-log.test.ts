import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type TestHub, createTestHub } from '../test/test-hub';
import { createLogger } from './logger';
import { createHubServer, listen } from './server';

interface Line {
  level: string;
  msg: string;
  requestId?: string;
  method?: string;
  path?: string;
  status?: number;
  durationMs?: number;
  procedures?: string[];
}

describe('request ids and request log lines over HTTP', () => {
  let hub: TestHub;
  let server: http.Server;
  let base: string;
  let raw: string[] = [];
  const lines = () => raw.map((line) => JSON.parse(line) as Line);
  const webRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-web-'));

  beforeAll(async () => {
    hub = await createTestHub('pglite');
    await (await hub.as('admin')).projects.create({ slug: 'shop', labels: ['a', 'b'] });
    fs.writeFileSync(path.join(webRoot, 'index.html'), '<h1>app</h1>');
    hub.deps.log = createLogger('debug', { format: 'json', destination: { write: (chunk: string) => raw.push(...chunk.split('\n').filter(Boolean)) } });
    server = createHubServer(hub.deps, { webRoot });
    base = `http://127.0.0.1:${(await listen(server, 0, '127.0.0.1')).port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await hub?.close();
  });
  beforeEach(() => {
    raw = [];
  });

  /** The request's log line: written when the response closes, which may be just after the client has read it. */
  async function lineOf(requestId: string): Promise<Line> {
    for (let i = 0; i < 100; i++) {
      const line = lines().find((l) => l.requestId === requestId && l.status !== undefined);
      if (line) return line;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`no request line for ${requestId} in:\n${raw.join('\n')}`);
  }

  it('sends back a sane incoming x-request-id and makes a new one for any other', async () => {
    expect((await fetch(`${base}/healthz`, { headers: { 'x-request-id': 'lb-7f3a.1_x' } })).headers.get('x-request-id')).toBe('lb-7f3a.1_x');
    const made = [];
    for (const header of [undefined, 'a'.repeat(65), 'bad id!', 'a/b']) {
      const response = await fetch(`${base}/healthz`, header ? { headers: { 'x-request-id': header } } : {});
      made.push(response.headers.get('x-request-id'));
    }
    for (const id of made) expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(made).size).toBe(made.length);
  });

  it('logs one line per finished request: method, path without its query, status, duration, procedures', async () => {
    const secret = await hub.secretFor('engineer');
    const batch = await fetch(`${base}/trpc/projects.get,projects.list?batch=1&input=${encodeURIComponent(JSON.stringify({ 0: { project: 'shop' }, 1: {} }))}`, {
      headers: { authorization: `Bearer ${secret}`, 'x-request-id': 'batch-1' },
    });
    expect(batch.status).toBe(200);
    expect(await lineOf('batch-1')).toMatchObject({ level: 'info', method: 'GET', path: '/trpc/projects.get,projects.list', status: 200, procedures: ['projects.get', 'projects.list'] });
    expect((await lineOf('batch-1')).durationMs).toBeGreaterThanOrEqual(0);

    // A device page's query names a token; a static miss is a 404.
    await fetch(`${base}/?project=shop&token=elt_query-secret-value`, { headers: { 'x-request-id': 'page-1' } });
    await fetch(`${base}/missing.js?token=elt_other-secret`, { headers: { 'x-request-id': 'miss-1' } });
    expect(await lineOf('page-1')).toMatchObject({ path: '/', status: 200 });
    expect(await lineOf('miss-1')).toMatchObject({ path: '/missing.js', status: 404 });
    expect(lines().filter((l) => l.requestId === 'miss-1' && l.status !== undefined)).toHaveLength(1);
    expect(raw.join('\n')).not.toMatch(/elt_query-secret-value|elt_other-secret|token=/);
    expect(raw.join('\n')).not.toContain(secret);
  });

  it('logs probes at debug, so they stay out of info logs', async () => {
    await fetch(`${base}/healthz`, { headers: { 'x-request-id': 'probe-1' } });
    expect(await lineOf('probe-1')).toMatchObject({ level: 'debug', path: '/healthz', status: 200 });
  });

  it("carries the request id on an internal error's line, whose id the client gets", async () => {
    await hub.deps.db.execute(sql`alter table dataset_versions rename to dataset_versions_away`);
    try {
      const response = await fetch(`${base}/trpc/datasets.list?input=${encodeURIComponent(JSON.stringify({ project: 'shop' }))}`, {
        headers: { authorization: `Bearer ${await hub.secretFor('engineer')}`, 'x-request-id': 'fails-1' },
      });
      expect(response.status).toBe(500);
      expect(response.headers.get('x-request-id')).toBe('fails-1');
      const { error } = (await response.json()) as { error: { message: string } };
      const id = /^internal error \(logged as ([0-9a-f]{8})\)$/.exec(error.message)?.[1];
      expect(id, error.message).toBeDefined();
      const logged = lines().find((l) => l.msg.includes(`[${id}]`));
      expect(logged).toMatchObject({ level: 'error', requestId: 'fails-1' });
      expect(logged!.msg).toMatch(/^datasets\.list \[[0-9a-f]{8}\]: .*Failed query: select/s);
      expect(await lineOf('fails-1')).toMatchObject({ status: 500, procedures: ['datasets.list'] });
    } finally {
      await hub.deps.db.execute(sql`alter table dataset_versions_away rename to dataset_versions`);
    }
  });
});
