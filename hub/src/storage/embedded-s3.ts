import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type S3ApiHandler, createS3ApiHandler } from './s3-api-server';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface EmbeddedS3 {
  /** The loopback endpoint the hub's own object store client uses. */
  endpoint: string;
  bucket: string;
  region: string;
  credentials: S3Credentials;
  /** The same API for another server to pass requests to: the hub serves presigned URLs under its own origin with it. */
  handle: S3ApiHandler;
  close(): Promise<void>;
}

/**
 * The hub's own S3 API server on loopback, storing objects under `directory`. Credentials are made once
 * per data directory and kept there, so presigned URLs survive a restart.
 */
export async function startEmbeddedS3(options: { directory: string; bucket: string; port?: number; region?: string }): Promise<EmbeddedS3> {
  fs.mkdirSync(options.directory, { recursive: true });
  const credentials = loadOrCreateCredentials(path.join(options.directory, '.credentials.json'));
  const region = options.region ?? 'us-east-1';
  const handle = createS3ApiHandler({ directory: path.join(options.directory, 'buckets'), bucket: options.bucket, credentials, region });
  const server = http.createServer((req, res) => handle(req, res));
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket: options.bucket,
    region,
    credentials,
    handle,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function loadOrCreateCredentials(file: string): S3Credentials {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as S3Credentials;
  } catch {
    const credentials = {
      accessKeyId: `EDGELOOP${crypto.randomBytes(6).toString('hex').toUpperCase()}`,
      secretAccessKey: crypto.randomBytes(30).toString('base64url'),
    };
    fs.writeFileSync(file, JSON.stringify(credentials), { mode: 0o600 });
    return credentials;
  }
}
