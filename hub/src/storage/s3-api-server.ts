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
  signature,
  stringToSign,
} from './signature-v4';
import { sha256Hex } from '../sha256';

/**
 * A small S3 API server on the file system: the embedded object store of the hub. It speaks what the hub,
 * the AWS SDK and browsers use (PutObject, GetObject, HeadObject, DeleteObject, ListObjectsV2, CORS) and
 * checks every request's Signature V4, header or presigned, like S3 does; unsigned requests are refused.
 * The signature is checked from the headers before any of the body is read, and bodies stream to disk, so a
 * request that is not allowed costs no memory and a large one costs little.
 *
 * One object is one file, `<dir>/<bucket>/<key>.obj`: a 4-byte metadata length, the metadata JSON
 * (content type, cache control, ETag, size), then the body. One write and one rename per PUT, so a
 * reader never sees half an object and a write costs few syscalls.
 */

const MAX_BODY_BYTES = 100 * 1024 * 1024;
/** Bodies up to this size are gathered in memory and written in one call (the common case: dataset images). */
const SMALL_BODY_BYTES = 1024 * 1024;
const EMPTY_SHA256 = sha256Hex('');
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
  /** The region signatures must be scoped to (default us-east-1). */
  region?: string;
}

/**
 * Where the API is mounted when another server passes requests on (the hub's `/s3/` route): the path prefix
 * before /<bucket>/<key>, and the host signatures were made for (the hub's public origin, whatever Host header a
 * proxy in front of the hub sends).
 */
export interface S3Mount {
  basePath: string;
  host: string;
}

export type S3ApiHandler = (req: http.IncomingMessage, res: http.ServerResponse, mount?: S3Mount) => void;

export function createS3ApiHandler(options: S3ApiServerOptions): S3ApiHandler {
  const bucketDir = path.join(options.directory, options.bucket);
  fs.mkdirSync(bucketDir, { recursive: true });
  const knownDirs = new Set<string>([bucketDir]);
  const region = options.region ?? 'us-east-1';

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, mount: S3Mount | undefined): Promise<void> {
    const rawUrl = req.url ?? '/';
    const queryStart = rawUrl.indexOf('?');
    const rawPath = queryStart === -1 ? rawUrl : rawUrl.slice(0, queryStart);
    const query = parseQuery(queryStart === -1 ? '' : rawUrl.slice(queryStart + 1));
    if (req.headers.origin) {
      res.setHeader('access-control-allow-origin', '*');
      res.setHeader('access-control-expose-headers', 'ETag');
    }
    if (req.method === 'OPTIONS') return preflight(req, res);
    if (mount && !rawPath.startsWith(`${mount.basePath}/`)) throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist');

    // From the headers alone: nothing of the body is read before the request is known to be allowed.
    const headers = mount ? { ...req.headers, host: mount.host } : req.headers;
    const { payloadHash } = authenticate(req.method ?? 'GET', headers, rawPath, query, { ...options, region });

    const [, bucket = '', ...keyParts] = rawPath.slice(mount?.basePath.length ?? 0).split('/');
    if (decodeURIComponent(bucket) !== options.bucket) throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist');
    const key = keyParts.map((p) => decodeURIComponent(p)).join('/');
    const params = new Map(query);

    if (!key) {
      if (req.method === 'GET' && params.get('list-type') === '2') return listObjects(res, params);
      throw new S3Error(501, 'NotImplemented', `${req.method} on the bucket is not supported by the embedded S3 server`);
    }
    const file = objectPath(key);
    if (req.method !== 'PUT') {
      if (hasBody(req)) throw new S3Error(400, 'InvalidRequest', `a ${req.method} request carries no body`);
      if (payloadHash !== UNSIGNED_PAYLOAD && payloadHash !== EMPTY_SHA256) {
        throw new S3Error(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.");
      }
    }
    switch (req.method) {
      case 'PUT':
        return putObject(req, res, file, payloadHash);
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

  /**
   * Streams the body into a temp file and renames it into place, checking its length against Content-Length and
   * its sha256 against x-amz-content-sha256 (when signed) as it arrives. The metadata's length is known before
   * the body (the ETag has a fixed width), so it is written first and its ETag filled in at the end.
   */
  async function putObject(req: http.IncomingMessage, res: http.ServerResponse, file: string, payloadHash: string): Promise<void> {
    if (req.headers['x-amz-copy-source']) throw new S3Error(501, 'NotImplemented', 'CopyObject is not supported');
    const declaredHeader = req.headers['content-length'];
    if (declaredHeader === undefined) throw new S3Error(411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.');
    const declared = Number(declaredHeader);
    if (!Number.isSafeInteger(declared) || declared < 0) throw new S3Error(400, 'InvalidArgument', 'Content-Length must be a whole number of bytes');
    if (declared > MAX_BODY_BYTES) throw new S3Error(400, 'EntityTooLarge', `bodies over ${MAX_BODY_BYTES} bytes are not accepted`);
    const lastModified = new Date().toUTCString();
    const metaWith = (etag: string) => {
      const meta: ObjectMeta = {
        contentType: req.headers['content-type'] ?? 'binary/octet-stream',
        ...(req.headers['cache-control'] ? { cacheControl: req.headers['cache-control'] } : {}),
        etag,
        bytes: declared,
        lastModified,
      };
      return Buffer.from(JSON.stringify(meta));
    };
    const metaLength = metaWith(`"${'0'.repeat(32)}"`).length;
    const header = Buffer.alloc(4);
    header.writeUInt32BE(metaLength);
    const dir = path.dirname(file);
    if (!knownDirs.has(dir)) {
      await fsp.mkdir(dir, { recursive: true });
      knownDirs.add(dir);
    }
    const md5 = crypto.createHash('md5');
    const sha256 = payloadHash === UNSIGNED_PAYLOAD ? null : crypto.createHash('sha256');
    const temp = `${file}.${crypto.randomBytes(6).toString('hex')}.tmp`;
    const small: Buffer[] = [];
    let handle: fsp.FileHandle | null = null;
    let received = 0;
    try {
      for await (const chunk of req as AsyncIterable<Buffer>) {
        received += chunk.length;
        if (received > declared) throw new S3Error(400, 'IncompleteBody', 'The body is longer than its Content-Length');
        md5.update(chunk);
        sha256?.update(chunk);
        if (declared <= SMALL_BODY_BYTES) small.push(chunk);
        else {
          if (!handle) {
            handle = await fsp.open(temp, 'w');
            await handle.write(header, 0, 4, 0);
          }
          await handle.write(chunk, 0, chunk.length, 4 + metaLength + received - chunk.length);
        }
      }
      if (received !== declared) throw new S3Error(400, 'IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header');
      if (sha256 && sha256.digest('hex') !== payloadHash) {
        throw new S3Error(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.");
      }
      const etag = `"${md5.digest('hex')}"`;
      const meta = metaWith(etag);
      if (handle) {
        await handle.write(meta, 0, meta.length, 4);
        await handle.close();
        handle = null;
      } else await fsp.writeFile(temp, Buffer.concat([header, meta, ...small]));
      await fsp.rename(temp, file);
      res.writeHead(200, { etag }).end();
    } catch (error) {
      await (handle as fsp.FileHandle | null)?.close().catch(() => {});
      await fsp.rm(temp, { force: true });
      throw error;
    }
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

  return (req, res, mount) => {
    handle(req, res, mount).catch((error: unknown) => {
      const s3Error =
        error instanceof S3Error
          ? error
          : error instanceof URIError
            ? new S3Error(400, 'InvalidURI', "Couldn't parse the specified URI.")
            : new S3Error(500, 'InternalError', 'We encountered an internal error. Please try again.');
      if (res.headersSent) return void res.destroy();
      // A refused request's body is never read: answer, then drop the connection rather than drain the body.
      const unread = !req.complete;
      res.writeHead(s3Error.status, { 'content-type': 'application/xml', ...(unread ? { connection: 'close' } : {}) });
      if (unread) res.once('finish', () => req.destroy());
      res.end(req.method === 'HEAD' ? undefined : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${s3Error.code}</Code><Message>${xmlEscape(s3Error.message)}</Message></Error>`);
    });
  };
}

function hasBody(req: http.IncomingMessage): boolean {
  return Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
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

function parseQuery(raw: string): [string, string][] {
  if (!raw) return [];
  return raw.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, '%20'));
    return eq === -1 ? [decode(pair), ''] : [decode(pair.slice(0, eq)), decode(pair.slice(eq + 1))];
  });
}

/**
 * Checks the request's SigV4 signature (Authorization header or presigned query), its freshness and its credential
 * scope, from the headers alone. Returns the payload hash the body must match as it streams in.
 */
function authenticate(
  method: string,
  headers: http.IncomingHttpHeaders,
  rawPath: string,
  query: [string, string][],
  options: S3ApiServerOptions & { region: string },
): { payloadHash: string } {
  const params = new Map(query);
  const header = headers.authorization;
  const now = Date.now();
  let credential: string, signedHeaders: string[], provided: string, amzDate: string, payloadHash: string;
  let signedQuery = query;
  if (header) {
    const m = /^AWS4-HMAC-SHA256 Credential=([^,]+),\s*SignedHeaders=([^,]+),\s*Signature=([0-9a-f]{64})$/.exec(header);
    if (!m) throw new S3Error(400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed; only AWS4-HMAC-SHA256 is supported');
    [, credential = '', , provided = ''] = m;
    signedHeaders = m[2]!.split(';');
    amzDate = String(headers['x-amz-date'] ?? '');
    payloadHash = String(headers['x-amz-content-sha256'] ?? '');
    if (!payloadHash) throw new S3Error(400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
    if (payloadHash.startsWith('STREAMING-')) throw new S3Error(501, 'NotImplemented', 'aws-chunked uploads are not supported by the embedded S3 server');
    if (payloadHash !== UNSIGNED_PAYLOAD && !/^[0-9a-f]{64}$/.test(payloadHash)) {
      throw new S3Error(400, 'InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a hex sha256');
    }
    const date = parseAmzDate(amzDate);
    if (!date || Math.abs(now - date.getTime()) > MAX_SKEW_MS) {
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
    // A URL dated in the future would stay valid past the longest expiry it could be given.
    if (date.getTime() - now > MAX_SKEW_MS) throw new S3Error(403, 'AccessDenied', 'Request is not valid yet: X-Amz-Date is in the future');
    if (now > date.getTime() + expires * 1000) throw new S3Error(403, 'AccessDenied', 'Request has expired');
  } else {
    throw new S3Error(403, 'AccessDenied', 'Anonymous access is not allowed: sign the request or use a presigned URL');
  }

  const [accessKeyId, scopeDate, scopeRegion, service, terminator] = credential.split('/');
  if (accessKeyId !== options.credentials.accessKeyId) {
    throw new S3Error(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
  }
  if (!scopeDate || scopeDate !== amzDate.slice(0, 8) || !scopeRegion || service !== 's3' || terminator !== 'aws4_request') {
    throw new S3Error(403, 'SignatureDoesNotMatch', 'The credential scope does not match the request date or service');
  }
  if (scopeRegion !== options.region) {
    throw new S3Error(403, 'AuthorizationHeaderMalformed', `region ${scopeRegion} in the credential scope is wrong; expecting ${options.region}`);
  }
  if (!signedHeaders.includes('host')) throw new S3Error(403, 'SignatureDoesNotMatch', 'The host header must be signed');
  const parts: CanonicalParts = { method, path: rawPath, query: signedQuery, headers, signedHeaders, payloadHash };
  const toSign = stringToSign(parts, amzDate, `${scopeDate}/${scopeRegion}/${service}/${terminator}`);
  const expected = signature(options.credentials.secretAccessKey, amzDate, scopeRegion, service, toSign);
  if (expected.length !== provided.length || !crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(provided))) {
    throw new S3Error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
  }
  return { payloadHash };
}

function xmlEscape(value: string): string {
  return value.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

