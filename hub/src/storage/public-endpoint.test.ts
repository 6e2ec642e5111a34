/**
 * S3_PUBLIC_ENDPOINT: the hub's own calls go to S3_ENDPOINT (an internal address), the presigned URLs it hands to
 * clients name the public one. Here the store is an embedded S3 server on its own port (as MinIO in compose) and the
 * public address is a forwarding proxy on another port that passes the Host header on, as a reverse proxy in front
 * of MinIO does: a browser upload goes through the proxy, signed for the host the browser sends.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { objectKeyForSha256 } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeUpload, createUpload } from '../datasets/upload.service';
import type { Caller } from '../deps';
import { loadEnv } from '../env';
import { type Hub, openHub } from '../hub';
import { encodeGreyscalePng } from '../images/png';
import { createProject } from '../projects/project.service';
import { type EmbeddedS3, startEmbeddedS3 } from './embedded-s3';
import { createS3ObjectStore } from './object-store';

const admin: Caller = { tokenId: null, name: 'test-admin', role: 'admin', projects: null };

/** Passes every request on to `target`, Host header and all, and counts what it passed. */
async function startForwardingProxy(target: URL): Promise<{ origin: string; forwarded: () => number; close(): Promise<void> }> {
  let forwarded = 0;
  const server = http.createServer((req, res) => {
    forwarded++;
    const upstream = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://localhost:${port}`,
    forwarded: () => forwarded,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

describe('S3_PUBLIC_ENDPOINT', () => {
  it('must be an http(s) URL, and only with S3_ENDPOINT; errors name the variable', () => {
    const external = { S3_ENDPOINT: 'http://minio:9000', S3_ACCESS_KEY_ID: 'a', S3_SECRET_ACCESS_KEY: 'b' };
    expect(loadEnv({ ...external, S3_PUBLIC_ENDPOINT: 'https://s3.example.com' }).S3_PUBLIC_ENDPOINT).toBe('https://s3.example.com');
    expect(loadEnv(external).S3_PUBLIC_ENDPOINT).toBeUndefined();
    for (const bad of ['ftp://s3.example.com', 's3.example.com:9000', 'not a url']) {
      expect(() => loadEnv({ ...external, S3_PUBLIC_ENDPOINT: bad }), bad).toThrow(/S3_PUBLIC_ENDPOINT: S3_PUBLIC_ENDPOINT must be an http\(s\) URL/);
    }
    expect(() => loadEnv({ S3_PUBLIC_ENDPOINT: 'https://s3.example.com' })).toThrow(/S3_PUBLIC_ENDPOINT: S3_PUBLIC_ENDPOINT needs S3_ENDPOINT/);
  });

  it('follows S3_FORCE_PATH_STYLE: virtual-hosted URLs name the bucket in the public host, from both signers', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-vhost-'));
    const tmpS3 = await startEmbeddedS3({ directory: dir, bucket: 'edgeloop' });
    try {
      const config = { endpoint: tmpS3.endpoint, region: 'us-east-1', bucket: 'edgeloop', credentials: tmpS3.credentials, forcePathStyle: false };
      for (const pathStyle of [false, true]) {
        const store = createS3ObjectStore({ ...config, presignEndpoint: () => 'https://s3.example.com', presignPathStyle: pathStyle });
        const put = new URL(await store.presignPut('objects/a b', { contentType: 'image/png', bytes: 3, expiresInSeconds: 60 }));
        const get = new URL(await store.presignGet('objects/a b', { expiresInSeconds: 60 }));
        for (const url of [put, get]) {
          expect(url.origin, String(pathStyle)).toBe(pathStyle ? 'https://s3.example.com' : 'https://edgeloop.s3.example.com');
          expect(url.pathname, String(pathStyle)).toBe(pathStyle ? '/edgeloop/objects/a%20b' : '/objects/a%20b');
        }
      }
    } finally {
      await tmpS3.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('with the store behind a proxy at another address', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-public-s3-'));
    let s3: EmbeddedS3;
    let proxy: Awaited<ReturnType<typeof startForwardingProxy>>;
    let hub: Hub;

    beforeAll(async () => {
      s3 = await startEmbeddedS3({ directory: path.join(tmp, 's3'), bucket: 'edgeloop' });
      proxy = await startForwardingProxy(new URL(s3.endpoint));
      const env = loadEnv({
        HUB_DATA_DIR: path.join(tmp, 'hub'),
        S3_ENDPOINT: s3.endpoint,
        S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
        S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
        S3_PUBLIC_ENDPOINT: proxy.origin,
        LOG_LEVEL: 'silent',
      });
      hub = await openHub(env);
      await createProject(hub.deps, { slug: 'shapes', labels: ['circle', 'square'], createdBy: 'test' });
    });
    afterAll(async () => {
      await hub?.close();
      await proxy?.close();
      await s3?.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('hands out upload URLs naming the public host, which work end to end through it', async () => {
      const bytes = encodeGreyscalePng(new Uint8Array(16).fill(7), 4, 4);
      const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
      const ticket = await createUpload(hub.deps, admin, { project: 'shapes', sha256, bytes: bytes.length, contentType: 'image/png', label: 'square', split: 'train' });
      const url = new URL(ticket.url);
      expect(url.origin).toBe(proxy.origin);
      expect(url.host).not.toBe(new URL(s3.endpoint).host);

      const before = proxy.forwarded();
      const put = await fetch(ticket.url, { method: 'PUT', body: new Uint8Array(bytes), headers: ticket.headers });
      expect(put.status).toBe(200);
      expect(proxy.forwarded()).toBe(before + 1);
      // The hub reads the staged bytes at S3_ENDPOINT, not through the proxy.
      const item = await completeUpload(hub.deps, admin, { uploadId: ticket.uploadId });
      expect(item).toMatchObject({ sha256, label: 'square', project: 'shapes' });
      expect(proxy.forwarded()).toBe(before + 1);
      expect(Buffer.from((await hub.deps.store.get(objectKeyForSha256(sha256)))!)).toEqual(Buffer.from(bytes));
    });

    it('hands out GET URLs naming the public host; the signature covers that host, so the same URL at the internal address is refused', async () => {
      const bytes = new TextEncoder().encode('stored once');
      await hub.deps.store.put('objects/public-endpoint-test', bytes, { contentType: 'text/plain' });
      const signed = await hub.deps.store.presignGet('objects/public-endpoint-test', { expiresInSeconds: 60 });
      expect(new URL(signed).origin).toBe(proxy.origin);
      const viaProxy = await fetch(signed);
      expect(viaProxy.status).toBe(200);
      expect(await viaProxy.text()).toBe('stored once');

      const internal = new URL(signed);
      internal.host = new URL(s3.endpoint).host;
      expect((await fetch(internal)).status).toBe(403);
    });
  });
});
