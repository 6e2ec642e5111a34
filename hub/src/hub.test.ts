import crypto from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../test/free-port';
import type { Caller } from './deps';
import { createProject } from './projects/project.service';
import { completeUpload, createUpload } from './datasets/upload.service';
import { loadEnv } from './env';
import { type Hub, openHub } from './hub';
import { encodeGreyscalePng } from './images/png';
import { createHubServer, listen } from './server';

const admin: Caller = { tokenId: null, name: 'test-admin', role: 'admin', projects: null };

describe('presigned upload URLs of the embedded store', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-hub-'));
  let running: { hub: Hub; server: http.Server } | null = null;

  /** The hub as `npm start` wires it: the embedded S3 on its own loopback port, presigned traffic through /s3. */
  async function start(port: number, embeddedS3Port: number) {
    const env = loadEnv({ HUB_DATA_DIR: dataDir, HUB_PORT: String(port), EMBEDDED_S3_PORT: String(embeddedS3Port), LOG_LEVEL: 'silent' });
    const hub = await openHub(env);
    const server = createHubServer(hub.deps, { webRoot: '/nonexistent', s3: hub.s3Route });
    await listen(server, port, '127.0.0.1');
    running = { hub, server };
    return hub;
  }
  async function stop() {
    running?.server.closeAllConnections();
    running?.server.close();
    await running?.hub.close();
    running = null;
  }
  afterAll(async () => {
    await stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('point at the hub, not the embedded S3 loopback port, and survive a restart on another S3 port', async () => {
    const port = await freePort();
    let hub = await start(port, await freePort());
    const s3Endpoint = hub.embeddedS3!.endpoint;
    await createProject(hub.deps, { slug: 'shapes', labels: ['circle', 'square'], createdBy: 'test' });
    const png = Buffer.from(encodeGreyscalePng(new Uint8Array(64).fill(200), 8, 8));
    const ticket = await createUpload(hub.deps, admin, {
      project: 'shapes',
      sha256: crypto.createHash('sha256').update(png).digest('hex'),
      bytes: png.length,
      contentType: 'image/png',
      label: 'circle',
      split: 'train',
    });
    const url = new URL(ticket.url);
    expect(url.host).toBe(`127.0.0.1:${port}`);
    expect(url.pathname).toMatch(/^\/s3\/edgeloop\/uploads\//);

    await stop();
    hub = await start(port, await freePort());
    expect(hub.embeddedS3!.endpoint).not.toBe(s3Endpoint);
    const put = await fetch(ticket.url, { method: 'PUT', body: png, headers: ticket.headers });
    expect(put.status).toBe(200);
    expect(await completeUpload(hub.deps, admin, { uploadId: ticket.uploadId })).toMatchObject({ label: 'circle', project: 'shapes' });

    // Signatures still bind the URL: another key, or a body of another size, is refused.
    expect((await fetch(ticket.url.replace('/uploads/', '/uploads/x'), { method: 'PUT', body: png, headers: ticket.headers })).status).toBe(403);
    expect((await fetch(ticket.url, { method: 'PUT', body: png.subarray(1), headers: ticket.headers })).status).toBe(403);
    // Only the embedded store is reachable under /s3/, and only with a signature.
    expect((await fetch(`http://127.0.0.1:${port}/s3/edgeloop/cdn/anything`)).status).toBe(403);
  });
});

describe('closing the hub', () => {
  it('lets job steps in flight finish within the grace period and hands back those that outlive it', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-close-'));
    const env = loadEnv({ HUB_DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
    try {
      const hub = await openHub(env);
      const { queue } = hub.deps;
      for (const name of ['close.quick', 'close.stuck']) await queue.createQueue(name);
      const quickId = (await queue.send('close.quick', {}, { retryLimit: 2 }))!;
      const stuckId = (await queue.send('close.stuck', {}, { retryLimit: 2 }))!;
      let release!: () => void;
      const quickMayEnd = new Promise<void>((resolve) => (release = resolve));
      const started: Promise<void>[] = [];
      for (const [name, work] of [
        ['close.quick', () => quickMayEnd],
        ['close.stuck', () => new Promise<void>(() => {})], // never ends
      ] as const) {
        started.push(new Promise<void>((resolve) => void queue.work(name, { pollingIntervalSeconds: 0.5 }, async () => (resolve(), work()))));
      }
      await Promise.all(started);

      const closed = hub.close({ jobGraceMs: 3000 });
      release(); // the quick step ends after shutdown began, within the grace period
      await closed;

      const reopened = await openHub(env);
      try {
        expect((await reopened.deps.queue.getJobById('close.quick', quickId))?.state).toBe('completed');
        // Failed by the shutdown with retries left: another worker takes it again.
        expect((await reopened.deps.queue.getJobById('close.stuck', stuckId))?.state).toBe('retry');
      } finally {
        await reopened.close();
      }
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
