import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedS3, startEmbeddedS3 } from './embedded-s3';
import { type ObjectStore, createS3ObjectStore } from './object-store';
import { signRequestHeaders } from './signature-v4';

describe('embedded S3 API server', () => {
  let s3: EmbeddedS3;
  let store: ObjectStore;
  let sdk: S3Client;
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-s3-'));

  beforeAll(async () => {
    s3 = await startEmbeddedS3({ directory, bucket: 'edgeloop' });
    const config = { endpoint: s3.endpoint, region: 'us-east-1', bucket: 'edgeloop', credentials: s3.credentials, forcePathStyle: true };
    store = createS3ObjectStore(config);
    sdk = new S3Client({ ...config, requestChecksumCalculation: 'WHEN_REQUIRED' });
  });
  afterAll(() => s3.close());

  it('round-trips objects through the lean PUT and the SDK', async () => {
    const body = new TextEncoder().encode('hello, objects');
    await store.put('a/b c/ü+x.txt', body, { contentType: 'text/plain', cacheControl: 'public, max-age=60' });
    expect(await store.head('a/b c/ü+x.txt')).toEqual({ bytes: body.length, contentType: 'text/plain' });
    expect(new TextDecoder().decode((await store.get('a/b c/ü+x.txt'))!)).toBe('hello, objects');
    const got = await sdk.send(new GetObjectCommand({ Bucket: 'edgeloop', Key: 'a/b c/ü+x.txt' }));
    expect(got.CacheControl).toBe('public, max-age=60');
    await sdk.send(new PutObjectCommand({ Bucket: 'edgeloop', Key: 'a/sdk.bin', Body: new Uint8Array([1, 2, 3]) }));
    const listed = await sdk.send(new ListObjectsV2Command({ Bucket: 'edgeloop', Prefix: 'a/', MaxKeys: 1 }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual(['a/b c/ü+x.txt']);
    expect(listed.IsTruncated).toBe(true);
    const next = await sdk.send(new ListObjectsV2Command({ Bucket: 'edgeloop', Prefix: 'a/', ContinuationToken: listed.NextContinuationToken }));
    expect(next.Contents?.map((o) => [o.Key, o.Size])).toEqual([['a/sdk.bin', 3]]);
    await store.delete('a/sdk.bin');
    expect(await store.get('a/sdk.bin')).toBeNull();
    expect(await store.head('a/sdk.bin')).toBeNull();
  });

  it('refuses anonymous requests, a wrong secret, a stale date and a body that is not the signed one', async () => {
    await store.put('private.txt', new Uint8Array([1]), { contentType: 'text/plain' });
    expect((await fetch(`${s3.endpoint}/edgeloop/private.txt`)).status).toBe(403);
    expect((await fetch(`${s3.endpoint}/edgeloop/x`, { method: 'PUT', body: 'x' })).status).toBe(403);

    const put = (headersFrom: { secret?: string; now?: Date; signedBody?: Uint8Array }, body: Uint8Array<ArrayBuffer>) => {
      const url = new URL(`${s3.endpoint}/edgeloop/signed.txt`);
      const headers = signRequestHeaders({
        method: 'PUT',
        host: url.host,
        path: url.pathname,
        headers: { 'content-type': 'text/plain' },
        body: headersFrom.signedBody ?? body,
        accessKeyId: s3.credentials.accessKeyId,
        secretAccessKey: headersFrom.secret ?? s3.credentials.secretAccessKey,
        region: 'us-east-1',
        now: headersFrom.now,
      });
      delete headers.host;
      return fetch(url, { method: 'PUT', headers, body });
    };
    const body = new Uint8Array([1, 2, 3]);
    expect((await put({}, body)).status).toBe(200);
    const wrongKey = await put({ secret: 'not-the-secret' }, body);
    expect([wrongKey.status, await wrongKey.text()]).toEqual([403, expect.stringContaining('SignatureDoesNotMatch')]);
    const stale = await put({ now: new Date(Date.now() - 20 * 60 * 1000) }, body);
    expect([stale.status, await stale.text()]).toEqual([403, expect.stringContaining('RequestTimeTooSkewed')]);
    const swapped = await put({ signedBody: new Uint8Array([9, 9, 9]) }, body);
    expect([swapped.status, await swapped.text()]).toEqual([400, expect.stringContaining('XAmzContentSHA256Mismatch')]);
  });

  it('honours presigned URLs until they expire, and only for what they name', async () => {
    await store.put('doc.txt', new TextEncoder().encode('presigned'), { contentType: 'text/plain' });
    const url = await store.presignGet('doc.txt', { expiresInSeconds: 60, downloadName: 'doc.txt' });
    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-disposition')).toBe('attachment; filename="doc.txt"');
    expect(await ok.text()).toBe('presigned');
    expect((await fetch(url.replace('doc.txt', 'private.txt'))).status).toBe(403);
    const signedLongAgo = await getSignedUrl(sdk, new GetObjectCommand({ Bucket: 'edgeloop', Key: 'doc.txt' }), {
      expiresIn: 60,
      signingDate: new Date(Date.now() - 3600 * 1000),
    });
    const expired = await fetch(signedLongAgo);
    expect([expired.status, await expired.text()]).toEqual([403, expect.stringContaining('Request has expired')]);
  });

  it('refuses keys that would leave the bucket and answers CORS preflights', async () => {
    await expect(store.put('a/../../escape', new Uint8Array([1]), { contentType: 'text/plain' })).rejects.toThrow(/InvalidKey/);
    expect(fs.existsSync(path.join(directory, 'escape.obj'))).toBe(false);
    const preflight = await fetch(`${s3.endpoint}/edgeloop/uploads/x`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:8787', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' },
    });
    expect(preflight.status).toBe(200);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('PUT');
  });

  it('keeps credentials across restarts so presigned URLs stay valid', async () => {
    const again = await startEmbeddedS3({ directory, bucket: 'edgeloop' });
    await again.close();
    const { accessKeyId, secretAccessKey } = s3.credentials;
    expect(again.credentials).toEqual({ accessKeyId, secretAccessKey });
  });
});
