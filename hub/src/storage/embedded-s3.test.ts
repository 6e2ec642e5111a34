import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedS3, startEmbeddedS3 } from './embedded-s3';
import { type ObjectStore, createS3ObjectStore } from './object-store';
import { UNSIGNED_PAYLOAD, signRequestHeaders } from './signature-v4';

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

  /** A PUT of `bytes` zero bytes, streamed from one reused buffer; resolves at the response with how much had been sent by then. */
  function streamPut(url: URL, headers: Record<string, string>, bytes: number): Promise<{ status: number; body: string; sentAtResponse: number }> {
    const chunk = Buffer.alloc(1024 * 1024);
    let sent = 0;
    const body = Readable.from(
      (function* () {
        while (sent < bytes) {
          const part = chunk.subarray(0, Math.min(chunk.length, bytes - sent));
          sent += part.length;
          yield part;
        }
      })(),
    );
    return new Promise((resolve, reject) => {
      const request = http.request(url, { method: 'PUT', headers: { ...headers, 'content-length': String(bytes) } }, (response) => {
        const sentAtResponse = sent;
        const parts: Buffer[] = [];
        response.on('data', (p: Buffer) => parts.push(p));
        response.on('end', () => resolve({ status: response.statusCode!, body: Buffer.concat(parts).toString('utf8'), sentAtResponse }));
      });
      // Once refused, the server drops the connection: writing the rest then fails, which is the point.
      request.on('error', (error) => (request.headersSent && sent > 0 ? undefined : reject(error)));
      body.pipe(request);
    });
  }

  const signedHeaders = (url: URL, options: { secret?: string; region?: string; now?: Date; payload?: Uint8Array } = {}) => {
    const headers = signRequestHeaders({
      method: 'PUT',
      host: url.host,
      path: url.pathname,
      headers: { 'content-type': 'application/octet-stream' },
      body: options.payload ?? new Uint8Array(),
      accessKeyId: s3.credentials.accessKeyId,
      secretAccessKey: options.secret ?? s3.credentials.secretAccessKey,
      region: options.region ?? 'us-east-1',
      now: options.now,
    });
    delete headers.host;
    return headers;
  };

  it('refuses a 100 MB body with a bad signature from its headers, without reading or holding the body', async () => {
    const url = new URL(`${s3.endpoint}/edgeloop/big.bin`);
    let peak = 0;
    const baseline = process.memoryUsage().arrayBuffers;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline)), 5);
    try {
      const refused = await streamPut(url, signedHeaders(url, { secret: 'not-the-secret' }), 100 * 1024 * 1024);
      expect([refused.status, refused.body]).toEqual([403, expect.stringContaining('SignatureDoesNotMatch')]);
      // Buffered, the whole body was read before the answer; now the answer comes while the client is still sending.
      expect(refused.sentAtResponse).toBeLessThan(40 * 1024 * 1024);
    } finally {
      clearInterval(sampler);
    }
    expect(peak).toBeLessThan(48 * 1024 * 1024);
    expect(await store.head('big.bin')).toBeNull();
  });

  it('streams large bodies to disk and checks their length and sha256 as they arrive', async () => {
    const url = new URL(`${s3.endpoint}/edgeloop/large/ok.bin`);
    const bytes = 3 * 1024 * 1024 + 5;
    const zeros = new Uint8Array(bytes);
    const ok = await streamPut(url, signedHeaders(url, { payload: zeros }), bytes);
    expect(ok.status).toBe(200);
    expect(await store.head('large/ok.bin')).toEqual({ bytes, contentType: 'application/octet-stream' });
    expect(Buffer.from((await store.get('large/ok.bin'))!).equals(Buffer.from(zeros))).toBe(true);

    const wrongHash = new URL(`${s3.endpoint}/edgeloop/large/bad.bin`);
    const swapped = await streamPut(wrongHash, signedHeaders(wrongHash, { payload: new Uint8Array(bytes).fill(1) }), bytes);
    expect([swapped.status, swapped.body]).toEqual([400, expect.stringContaining('XAmzContentSHA256Mismatch')]);
    expect(await store.head('large/bad.bin')).toBeNull();
    const left = fs.readdirSync(path.join(directory, 'buckets', 'edgeloop', 'large'));
    expect(left.filter((name) => name.endsWith('.tmp'))).toEqual([]);

    const unsigned = new URL(`${s3.endpoint}/edgeloop/large/unsigned.bin`);
    const headers = { ...signedHeaders(unsigned), 'x-amz-content-sha256': UNSIGNED_PAYLOAD };
    // The payload hash is part of what is signed: changing it breaks the signature...
    expect((await streamPut(unsigned, headers, 10)).status).toBe(403);
    // ...while an UNSIGNED-PAYLOAD signature skips the body check.
    const presigned = await store.presignPut('large/presigned.bin', { contentType: 'application/octet-stream', bytes, expiresInSeconds: 60 });
    const put = await fetch(presigned, { method: 'PUT', body: zeros, headers: { 'content-type': 'application/octet-stream' } });
    expect(put.status).toBe(200);
    // A presigned PUT is for exactly the size it names.
    const shorter = await fetch(presigned, { method: 'PUT', body: zeros.subarray(1), headers: { 'content-type': 'application/octet-stream' } });
    expect(shorter.status).toBe(403);
  });

  it('refuses a signature scoped to another region, and dates in the future', async () => {
    const url = new URL(`${s3.endpoint}/edgeloop/region.txt`);
    const wrongRegion = await streamPut(url, signedHeaders(url, { region: 'eu-west-1' }), 0);
    expect([wrongRegion.status, wrongRegion.body]).toEqual([403, expect.stringContaining('region eu-west-1 in the credential scope is wrong; expecting us-east-1')]);

    const future = await streamPut(url, signedHeaders(url, { now: new Date(Date.now() + 20 * 60 * 1000) }), 0);
    expect([future.status, future.body]).toEqual([403, expect.stringContaining('RequestTimeTooSkewed')]);

    await store.put('doc2.txt', new TextEncoder().encode('x'), { contentType: 'text/plain' });
    // Dated an hour ahead with an hour's expiry, this URL would stay valid for two hours from now.
    const signedAhead = await getSignedUrl(sdk, new GetObjectCommand({ Bucket: 'edgeloop', Key: 'doc2.txt' }), { expiresIn: 3600, signingDate: new Date(Date.now() + 3600 * 1000) });
    const ahead = await fetch(signedAhead);
    expect([ahead.status, await ahead.text()]).toEqual([403, expect.stringContaining('X-Amz-Date is in the future')]);
    const otherRegion = new S3Client({ endpoint: s3.endpoint, region: 'eu-west-1', credentials: s3.credentials, forcePathStyle: true });
    const regionUrl = await getSignedUrl(otherRegion, new GetObjectCommand({ Bucket: 'edgeloop', Key: 'doc2.txt' }), { expiresIn: 60 });
    expect((await fetch(regionUrl)).status).toBe(403);
  });

  it('keeps credentials across restarts so presigned URLs stay valid', async () => {
    const again = await startEmbeddedS3({ directory, bucket: 'edgeloop' });
    await again.close();
    const { accessKeyId, secretAccessKey } = s3.credentials;
    expect(again.credentials).toEqual({ accessKeyId, secretAccessKey });
  });
});
