import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedS3, startEmbeddedS3 } from './embedded-s3';
import { type S3Config, createS3ObjectStore, presignedGetUrl } from './object-store';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const at = new Date('2026-11-30T12:34:56Z');

/** A URL with its query parameters in one order: S3 reads them by name. */
function normalised(url: string): { where: string; query: string[][] } {
  const parsed = new URL(url);
  return { where: `${parsed.origin}${parsed.pathname}`, query: [...parsed.searchParams].sort(([a], [b]) => (a! < b! ? -1 : 1)) };
}

/** The URL the AWS SDK presigns for the same GetObject at the same moment. */
async function sdkUrl(config: S3Config, key: string, downloadName?: string): Promise<string> {
  const endpoint = config.presignEndpoint?.() ?? config.endpoint;
  const client = new S3Client({
    ...(endpoint ? { endpoint } : {}),
    region: config.region,
    credentials: config.credentials,
    forcePathStyle: config.presignEndpoint !== undefined || config.forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const command = new GetObjectCommand({ Bucket: config.bucket, Key: key, ...(downloadName ? { ResponseContentDisposition: `attachment; filename="${downloadName}"` } : {}) });
  return getSignedUrl(client, command, { expiresIn: 600, signingDate: at });
}

describe('presigned GET URLs made without the SDK', () => {
  const cases: [string, S3Config, string, string | undefined][] = [
    ['path style on a local endpoint', { endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', bucket: 'edgeloop', credentials, forcePathStyle: true }, 'blobs/ab/cd.png', undefined],
    ['the hub route as presign endpoint', { endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', bucket: 'edgeloop', credentials, forcePathStyle: false, presignEndpoint: () => 'https://hub.example:8443/s3' }, 'a/b c/ü+x.txt', 'model v1.zip'],
    ['virtual-hosted AWS S3', { region: 'eu-west-3', bucket: 'my-bucket', credentials, forcePathStyle: false }, "odd key/!'()*&=.bin", 'doc.txt'],
  ];
  it.each(cases)('are the URL the SDK makes: %s', async (_name, config, key, downloadName) => {
    expect(normalised(presignedGetUrl(config, key, { expiresInSeconds: 600, downloadName, now: at }))).toEqual(normalised(await sdkUrl(config, key, downloadName)));
  });

  describe('against the embedded S3 server', () => {
    let s3: EmbeddedS3;
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-presign-'));
    beforeAll(async () => {
      s3 = await startEmbeddedS3({ directory, bucket: 'edgeloop' });
    });
    afterAll(async () => {
      await s3.close();
      fs.rmSync(directory, { recursive: true, force: true });
    });

    it('open the object they name and no other', async () => {
      const store = createS3ObjectStore({ endpoint: s3.endpoint, region: 'us-east-1', bucket: 'edgeloop', credentials: s3.credentials, forcePathStyle: true });
      await store.put('x/ü one.txt', new TextEncoder().encode('one'), { contentType: 'text/plain' });
      const url = await store.presignGet('x/ü one.txt', { expiresInSeconds: 60, downloadName: 'one.txt' });
      const ok = await fetch(url);
      expect(ok.status).toBe(200);
      expect(await ok.text()).toBe('one');
      expect(ok.headers.get('content-disposition')).toBe('attachment; filename="one.txt"');
      const other = await fetch(url.replace('/x/', '/y/'));
      expect(other.status).toBe(403);
    });
  });
});
