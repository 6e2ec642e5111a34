import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import {
  ALGORITHM,
  UNSIGNED_PAYLOAD,
  type CanonicalParts,
  parseAmzDate,
  sha256Hex,
  signature,
  stringToSign,
} from './signature-v4';

/**
 * A small S3 API server on the file system: the embedded object store of the hub. It speaks what the hub,
 * the AWS SDK and browsers use (PutObject, GetObject, HeadObject, DeleteObject, ListObjectsV2, CORS) and
 * checks every request's Signature V4, header or presigned, like S3 does; unsigned requests are refused.
 *
 * One object is one file, `<dir>/<bucket>/<key>.obj`: a 4-byte metadata length, the metadata JSON
 * (content type, cache control, ETag, size), then the body. One write and one rename per PUT, so a
 * reader never sees half an object and a write costs few syscalls.
 */

const MAX_BODY_BYTES = 100 * 1024 * 1024;
const MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;
const OBJECT_SUFFIX = '.obj';

interface ObjectMeta {
  contentType: string;
  cacheControl?: string;
  etag: string;
  bytes: number;
  lastModified: string;
}

class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface S3ApiServerOptions {
  directory: string;
  bucket: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  region?: string;
}

export function createS3ApiServer(options: S3ApiServerOptions): http.Server {
  const bucketDir = path.join(options.directory, options.bucket);
  fs.mkdirSync(bucketDir, { recursive: true });
  const knownDirs = new Set<string>([bucketDir]);

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    const queryStart = rawUrl.indexOf('?');
    const rawPath = queryStart === -1 ? rawUrl : rawUrl.slice(0, queryStart);
    const query = parseQuery(queryStart === -1 ? '' : rawUrl.slice(queryStart + 1));
    if (req.headers.origin) {
      res.setHeader('access-control-allow-origin', '*');
      res.setHeader('access-control-expose-headers', 'ETag');
    }
    if (req.method === 'OPTIONS') return preflight(req, res);

    const body = await readBody(req);
    authenticate(req, rawPath, query, body, options);

    const [, bucket = '', ...keyParts] = rawPath.split('/');
    if (decodeURIComponent(bucket) !== options.bucket) throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist');
    const key = keyParts.map((p) => decodeURIComponent(p)).join('/');
    const params = new Map(query);

    if (!key) {
      if (req.method === 'GET' && params.get('list-type') === '2') return listObjects(res, params);
      throw new S3Error(501, 'NotImplemented', `${req.method} on the bucket is not supported by the embedded S3 server`);
    }
    const file = objectPath(key);
    switch (req.method) {
      case 'PUT':
        return putObject(req, res, file, body);
      case 'GET':
      case 'HEAD':
        return getObject(req, res, file, params);
      case 'DELETE':
        await fsp.rm(file, { force: true });
        res.writeHead(204).end();
        return;
      default:
        throw new S3Error(405, 'MethodNotAllowed', `${req.method} is not allowed`);
    }
  }

  function objectPath(key: string): string {
    if (key.startsWith('/') || key.split('/').some((segment) => segment === '..' || segment === '.' || segment === '')) {
      throw new S3Error(400, 'InvalidKey', `key ${JSON.stringify(key)} has an empty, "." or ".." segment`);
    }
    return path.join(bucketDir, key + OBJECT_SUFFIX);
  }

  async function putObject(req: http.IncomingMessage, res: http.ServerResponse, file: string, body: Buffer): Promise<void> {
    if (req.headers['x-amz-copy-source']) throw new S3Error(501, 'NotImplemented', 'CopyObject is not supported');
    const etag = `"${crypto.createHash('md5').update(body).digest('hex')}"`;
    const meta: ObjectMeta = {
      contentType: req.headers['content-type'] ?? 'binary/octet-stream',
      ...(req.headers['cache-control'] ? { cacheControl: req.headers['cache-control'] } : {}),
      etag,
      bytes: body.length,
      lastModified: new Date().toUTCString(),
    };
    const metaBytes = Buffer.from(JSON.stringify(meta));
    const header = Buffer.alloc(4);
    header.writeUInt32BE(metaBytes.length);
    const dir = path.dirname(file);
    if (!knownDirs.has(dir)) {
      await fsp.mkdir(dir, { recursive: true });
      knownDirs.add(dir);
    }
    const temp = `${file}.${crypto.randomBytes(6).toString('hex')}.tmp`;
    await fsp.writeFile(temp, Buffer.concat([header, metaBytes, body]));
    await fsp.rename(temp, file);
    res.writeHead(200, { etag }).end();
  }

  async function getObject(req: http.IncomingMessage, res: http.ServerResponse, file: string, params: Map<string, string>): Promise<void> {
    const stored = await readObject(file);
    if (!stored) {
      if (req.method === 'HEAD') return void res.writeHead(404).end();
      throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.');
    }
    const { meta, offset } = stored;
    res.writeHead(200, {
      'content-type': params.get('response-content-type') ?? meta.contentType,
      'content-length': meta.bytes,
      etag: meta.etag,
      'last-modified': meta.lastModified,
      'accept-ranges': 'none',
      ...(params.get('response-cache-control') ?? meta.cacheControl ? { 'cache-control': params.get('response-cache-control') ?? meta.cacheControl } : {}),
      ...(params.has('response-content-disposition') ? { 'content-disposition': params.get('response-content-disposition') } : {}),
    });
    if (req.method === 'HEAD' || meta.bytes === 0) return void res.end();
    fs.createReadStream(file, { start: offset }).pipe(res);
  }

  async function listObjects(res: http.ServerResponse, params: Map<string, string>): Promise<void> {
    const prefix = params.get('prefix') ?? '';
    const maxKeys = Math.min(Number(params.get('max-keys') ?? 1000) || 1000, 1000);
    const after = params.get('continuation-token') ?? params.get('start-after') ?? '';
    const entries = (await fsp.readdir(bucketDir, { recursive: true })) as string[];
    const keys = entries
      .filter((entry) => entry.endsWith(OBJECT_SUFFIX))
      .map((entry) => entry.slice(0, -OBJECT_SUFFIX.length).split(path.sep).join('/'))
      .filter((key) => key.startsWith(prefix) && key > after)
      .sort();
    const page = keys.slice(0, maxKeys);
    const contents = await Promise.all(
      page.map(async (key) => {
        const stored = await readObject(path.join(bucketDir, key + OBJECT_SUFFIX));
        return stored
          ? `<Contents><Key>${xmlEscape(key)}</Key><LastModified>${new Date(stored.meta.lastModified).toISOString()}</LastModified><ETag>${xmlEscape(stored.meta.etag)}</ETag><Size>${stored.meta.bytes}</Size><StorageClass>STANDARD</StorageClass></Contents>`
          : '';
      }),
    );
    const truncated = keys.length > maxKeys;
    res.writeHead(200, { 'content-type': 'application/xml' }).end(
      `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${xmlEscape(options.bucket)}</Name>` +
        `<Prefix>${xmlEscape(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys><IsTruncated>${truncated}</IsTruncated>` +
        (truncated ? `<NextContinuationToken>${xmlEscape(page.at(-1)!)}</NextContinuationToken>` : '') +
        `${contents.join('')}</ListBucketResult>`,
    );
  }

  return http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const s3Error =
        error instanceof S3Error
          ? error
          : error instanceof URIError
            ? new S3Error(400, 'InvalidURI', "Couldn't parse the specified URI.")
            : new S3Error(500, 'InternalError', (error as Error).message);
      if (res.headersSent) return void res.destroy();
      res.writeHead(s3Error.status, { 'content-type': 'application/xml' });
      res.end(req.method === 'HEAD' ? undefined : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${s3Error.code}</Code><Message>${xmlEscape(s3Error.message)}</Message></Error>`);
    });
  });
}

function preflight(req: http.IncomingMessage, res: http.ServerResponse): void {
  res.writeHead(200, {
    'access-control-allow-origin': '*',
    'access-control-allow-methods': 'GET, HEAD, PUT',
    'access-control-allow-headers': req.headers['access-control-request-headers'] ?? '*',
    'access-control-expose-headers': 'ETag',
    'access-control-max-age': '3600',
  });
  res.end();
}

async function readObject(file: string): Promise<{ meta: ObjectMeta; offset: number } | null> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const head = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const metaLength = head.readUInt32BE(0);
    const metaBytes = metaLength + 4 <= bytesRead ? head.subarray(4, 4 + metaLength) : (await handle.read(Buffer.alloc(metaLength), 0, metaLength, 4)).buffer;
    return { meta: JSON.parse(metaBytes.toString('utf8')) as ObjectMeta, offset: 4 + metaLength };
  } finally {
    await handle.close();
  }
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) return Promise.reject(new S3Error(400, 'EntityTooLarge', `bodies over ${MAX_BODY_BYTES} bytes are not accepted`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new S3Error(400, 'EntityTooLarge', `bodies over ${MAX_BODY_BYTES} bytes are not accepted`));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseQuery(raw: string): [string, string][] {
  if (!raw) return [];
  return raw.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, '%20'));
    return eq === -1 ? [decode(pair), ''] : [decode(pair.slice(0, eq)), decode(pair.slice(eq + 1))];
  });
}

/** Checks the request's SigV4 signature (Authorization header or presigned query) and its freshness. */
function authenticate(req: http.IncomingMessage, rawPath: string, query: [string, string][], body: Buffer, options: S3ApiServerOptions): void {
  const params = new Map(query);
  const header = req.headers.authorization;
  let credential: string, signedHeaders: string[], provided: string, amzDate: string, payloadHash: string;
  let signedQuery = query;
  if (header) {
    const m = /^AWS4-HMAC-SHA256 Credential=([^,]+),\s*SignedHeaders=([^,]+),\s*Signature=([0-9a-f]{64})$/.exec(header);
    if (!m) throw new S3Error(400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed; only AWS4-HMAC-SHA256 is supported');
    [, credential = '', , provided = ''] = m;
    signedHeaders = m[2]!.split(';');
    amzDate = String(req.headers['x-amz-date'] ?? '');
    payloadHash = String(req.headers['x-amz-content-sha256'] ?? '');
    if (!payloadHash) throw new S3Error(400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
    if (payloadHash.startsWith('STREAMING-')) throw new S3Error(501, 'NotImplemented', 'aws-chunked uploads are not supported by the embedded S3 server');
    if (payloadHash !== UNSIGNED_PAYLOAD && payloadHash !== sha256Hex(body)) {
      throw new S3Error(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.");
    }
    const date = parseAmzDate(amzDate);
    if (!date || Math.abs(Date.now() - date.getTime()) > MAX_SKEW_MS) {
      throw new S3Error(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.');
    }
  } else if (params.get('X-Amz-Algorithm') === ALGORITHM) {
    credential = params.get('X-Amz-Credential') ?? '';
    signedHeaders = (params.get('X-Amz-SignedHeaders') ?? '').split(';');
    provided = params.get('X-Amz-Signature') ?? '';
    amzDate = params.get('X-Amz-Date') ?? '';
    payloadHash = params.get('X-Amz-Content-Sha256') ?? UNSIGNED_PAYLOAD;
    signedQuery = query.filter(([name]) => name !== 'X-Amz-Signature');
    const date = parseAmzDate(amzDate);
    const expires = Number(params.get('X-Amz-Expires'));
    if (!date || !Number.isInteger(expires) || expires < 1 || expires > MAX_PRESIGN_SECONDS) {
      throw new S3Error(400, 'AuthorizationQueryParametersError', 'X-Amz-Date and X-Amz-Expires (1 to 604800 seconds) are required');
    }
    if (Date.now() > date.getTime() + expires * 1000) throw new S3Error(403, 'AccessDenied', 'Request has expired');
  } else {
    throw new S3Error(403, 'AccessDenied', 'Anonymous access is not allowed: sign the request or use a presigned URL');
  }

  const [accessKeyId, scopeDate, region, service, terminator] = credential.split('/');
  if (accessKeyId !== options.credentials.accessKeyId) {
    throw new S3Error(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
  }
  if (!scopeDate || scopeDate !== amzDate.slice(0, 8) || !region || service !== 's3' || terminator !== 'aws4_request') {
    throw new S3Error(403, 'SignatureDoesNotMatch', 'The credential scope does not match the request date or service');
  }
  if (!signedHeaders.includes('host')) throw new S3Error(403, 'SignatureDoesNotMatch', 'The host header must be signed');
  const parts: CanonicalParts = { method: req.method ?? 'GET', path: rawPath, query: signedQuery, headers: req.headers, signedHeaders, payloadHash };
  const toSign = stringToSign(parts, amzDate, `${scopeDate}/${region}/${service}/${terminator}`);
  const expected = signature(options.credentials.secretAccessKey, amzDate, region, service, toSign);
  if (expected.length !== provided.length || !crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(provided))) {
    throw new S3Error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
  }
}

function xmlEscape(value: string): string {
  return value.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

