import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestHub, createTestHub } from '../test/test-hub';
import { createHubServer, listen } from './server';

describe('hub HTTP server', () => {
  let hub: TestHub;
  let base: string;
  let close: () => void;
  const webRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-web-'));

  beforeAll(async () => {
    hub = await createTestHub('pglite');
    await (await hub.as('admin')).projects.create({ slug: 'shop', labels: ['a', 'b'] }); // a device token needs a project
    fs.mkdirSync(path.join(webRoot, 'admin'));
    fs.writeFileSync(path.join(webRoot, 'admin/index.html'), '<h1>admin</h1>');
    const server = createHubServer(hub.deps, { webRoot });
    const { port } = await listen(server, 0, '127.0.0.1');
    base = `http://127.0.0.1:${port}`;
    close = () => server.close();
  });
  afterAll(async () => {
    close();
    await hub.close();
  });

  const get = async (procedure: string, input: unknown, token?: string) => {
    const response = await fetch(`${base}/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    return { status: response.status, body: (await response.json()) as { error?: { message: string; data: Record<string, unknown> }; result?: { data: unknown } } };
  };

  it('answers 401 without a token and 403 for a role that may not call', async () => {
    expect((await get('projects.list', undefined)).status).toBe(401);
    const device = await get('items.list', { project: 'x' }, await hub.secretFor('device'));
    expect(device.status).toBe(403);
    expect(device.body.error!.message).toBe('role "device" may not call this; allowed roles: admin, engineer, labeler');
  });

  it('refuses a project-scoped token on another project, each call of a batch on its own', async () => {
    const device = await hub.secretFor('device', { projects: ['shop'] });
    expect((await get('projects.get', { project: 'shop' }, device)).status).toBe(200);
    expect(await get('projects.get', { project: 'other' }, device)).toMatchObject({ status: 403, body: { error: { message: 'this token acts in project(s) shop only; it may not act on "other"' } } });
    const batch = await fetch(`${base}/trpc/projects.get,projects.get?batch=1&input=${encodeURIComponent(JSON.stringify({ 0: { project: 'shop' }, 1: { project: 'other' } }))}`, {
      headers: { authorization: `Bearer ${device}` },
    });
    const [inScope, outOfScope] = (await batch.json()) as { result?: { data: { slug: string } }; error?: { data: { code: string } } }[];
    expect(inScope!.result!.data.slug).toBe('shop');
    expect(outOfScope!.error!.data.code).toBe('FORBIDDEN');
  });

  it('answers bad input with 400 naming the field, and never sends a stack', async () => {
    const { status, body } = await get('items.list', { project: 'xx', limit: 5000 }, await hub.secretFor('engineer'));
    expect(status).toBe(400);
    expect(body.error!.message).toMatch(/^limit: /);
    expect(body.error!.data.fieldErrors).toHaveProperty('limit');
    expect(JSON.stringify(body)).not.toMatch(/stack|\.ts:\d+/);
    const missing = await get('datasets.list', { project: 'nope' }, await hub.secretFor('engineer'));
    expect(missing).toMatchObject({ status: 404, body: { error: { message: 'no project "nope"' } } });
  });

  it('serves the web apps and refuses paths outside them', async () => {
    const page = await fetch(`${base}/admin/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(await page.text()).toContain('admin');
    expect((await fetch(`${base}/..%2f..%2fetc/passwd`)).status).not.toBe(200);
    expect((await fetch(`${base}/%E0%A4%A`)).status).toBe(400);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it("serves the build's brotli or gzip copy of a file to a client that accepts it, else the file", async () => {
    const script = 'export const answer = 42;\n'.repeat(200);
    fs.mkdirSync(path.join(webRoot, 'assets'), { recursive: true });
    fs.writeFileSync(path.join(webRoot, 'assets/app.js'), script);
    fs.writeFileSync(path.join(webRoot, 'assets/app.js.gz'), zlib.gzipSync(script));
    fs.writeFileSync(path.join(webRoot, 'assets/app.js.br'), zlib.brotliCompressSync(script));
    /** The raw answer: fetch would ask for and undo the encoding itself. */
    const raw = (acceptEncoding: string) =>
      new Promise<{ encoding: string | undefined; vary: string | undefined; type: string | undefined; body: Buffer }>((resolve, reject) => {
        http.get(`${base}/assets/app.js`, { headers: { 'accept-encoding': acceptEncoding } }, (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve({ encoding: response.headers['content-encoding'], vary: response.headers.vary, type: response.headers['content-type'], body: Buffer.concat(chunks) }));
        }).on('error', reject);
      });
    const br = await raw('gzip, deflate, br');
    expect(br).toMatchObject({ encoding: 'br', vary: 'accept-encoding', type: 'text/javascript' });
    expect(zlib.brotliDecompressSync(br.body).toString()).toBe(script);
    const gzip = await raw('gzip, deflate');
    expect(gzip.encoding).toBe('gzip');
    expect(zlib.gunzipSync(gzip.body).toString()).toBe(script);
    for (const refused of ['', 'identity', 'br;q=0, gzip;q=0.0']) {
      const plain = await raw(refused);
      expect(plain, refused).toMatchObject({ encoding: undefined, vary: 'accept-encoding' });
      expect(plain.body.toString()).toBe(script);
    }
  });

  it("hides an internal error's text behind an id the hub logs with it", async () => {
    const lines: string[] = [];
    const log = hub.deps.log;
    hub.deps.log = { ...log, error: (line: string) => lines.push(line) };
    // A real failure of the database under the hub: its message names the query and its parameters. (The token is
    // checked before, and reads projects: the table that goes is one only the procedure reads.)
    await hub.deps.db.execute(sql`alter table dataset_versions rename to dataset_versions_away`);
    try {
      const { status, body } = await get('datasets.list', { project: 'shop' }, await hub.secretFor('engineer'));
      expect(status).toBe(500);
      const id = /^internal error \(logged as ([0-9a-f]{8})\)$/.exec(body.error!.message)?.[1];
      expect(id, body.error!.message).toBeDefined();
      expect(JSON.stringify(body)).not.toMatch(/select|dataset_versions|params/i);
      expect(lines.find((line) => line.includes(`[${id}]`))).toMatch(/^datasets\.list \[[0-9a-f]{8}\]: .*Failed query: select/s);
    } finally {
      await hub.deps.db.execute(sql`alter table dataset_versions_away rename to dataset_versions`);
      hub.deps.log = log;
    }
  });
});
