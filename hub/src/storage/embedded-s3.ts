import crypto from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createS3ApiServer } from './s3-api-server';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface EmbeddedS3 {
  endpoint: string;
  bucket: string;
  credentials: S3Credentials;
  close(): Promise<void>;
}

/**
 * The hub's own S3 API server on loopback, storing objects under `directory`. Credentials are made once
 * per data directory and kept there, so presigned URLs survive a restart.
 */
export async function startEmbeddedS3(options: { directory: string; bucket: string; port?: number }): Promise<EmbeddedS3> {
  fs.mkdirSync(options.directory, { recursive: true });
  const credentials = loadOrCreateCredentials(path.join(options.directory, '.credentials.json'));
  const server = createS3ApiServer({ directory: path.join(options.directory, 'buckets'), bucket: options.bucket, credentials });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket: options.bucket,
    credentials,
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
