import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import S3rver from '@20minutes/s3rver';
import { DUMMY_ACCOUNT } from '@20minutes/s3rver/lib/models/account.js';

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

// Browsers PUT presigned uploads and read ETags of multipart parts.
const corsConfig = `<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>*</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>HEAD</AllowedMethod>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <MaxAgeSeconds>3600</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>`;

/**
 * An S3 API server on loopback, inside the hub process, storing objects under `directory`.
 * s3rver checks SigV4 signatures (and presigned URL expiry) but lets unsigned requests through,
 * so this wrapper refuses every request that carries no signature. Credentials are made once per
 * data directory and kept there, so presigned URLs survive a restart.
 */
export async function startEmbeddedS3(options: { directory: string; bucket: string; port?: number }): Promise<EmbeddedS3> {
  fs.mkdirSync(options.directory, { recursive: true });
  const credentials = loadOrCreateCredentials(path.join(options.directory, '.credentials.json'));
  DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
  DUMMY_ACCOUNT.createKeyPair(credentials.accessKeyId, credentials.secretAccessKey);

  const s3rver = new S3rver({
    directory: path.join(options.directory, 'buckets'),
    silent: true,
    configureBuckets: [{ name: options.bucket, configs: [corsConfig] }],
  });
  await s3rver.configureBuckets();
  const handle = s3rver.callback();

  const server = http.createServer((req, res) => {
    if (req.method !== 'OPTIONS' && !isSigned(req)) {
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end(
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>' +
          '<Message>Anonymous access is not allowed: sign the request or use a presigned URL.</Message></Error>',
      );
      return;
    }
    handle(req, res);
  });
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

function isSigned(req: http.IncomingMessage): boolean {
  if (req.headers.authorization) return true;
  const query = new URL(req.url ?? '/', 'http://s3').searchParams;
  return query.has('X-Amz-Signature') || query.has('Signature');
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
