import crypto from 'node:crypto';
import { sha256Hex } from '../sha256';

/**
 * AWS Signature Version 4 as S3 uses it: one implementation for the embedded S3 server (verify) and
 * the object store's lean PUT (sign). https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html
 */

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

const hmac = (key: crypto.BinaryLike, data: string) => crypto.createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding, as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
export function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** An S3 key as a path: every segment encoded, slashes kept. */
export function encodeKeyPath(key: string): string {
  return key.split('/').map(uriEncode).join('/');
}

const signingKeys = new Map<string, Buffer>();

/** The derived key changes once a day per region; cache it rather than run four HMACs per request. */
export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const cacheKey = `${secret}\n${date}\n${region}\n${service}`;
  let key = signingKeys.get(cacheKey);
  if (!key) {
    key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
    if (signingKeys.size > 100) signingKeys.clear();
    signingKeys.set(cacheKey, key);
  }
  return key;
}

/** Query string in canonical form: every name and value encoded, sorted by name then value. */
export function canonicalQuery(params: [string, string][]): string {
  return params
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

export interface CanonicalParts {
  method: string;
  /** The path exactly as sent on the wire (already encoded). */
  path: string;
  query: [string, string][];
  /** Lowercase header names to values; only the signed ones are read. */
  headers: Record<string, string | string[] | undefined>;
  signedHeaders: string[];
  payloadHash: string;
}

export function stringToSign(parts: CanonicalParts, amzDate: string, scope: string): string {
  const canonicalHeaders = parts.signedHeaders
    .map((name) => {
      const raw = parts.headers[name];
      const value = Array.isArray(raw) ? raw.join(',') : (raw ?? '');
      return `${name}:${value.trim().replace(/\s+/g, ' ')}\n`;
    })
    .join('');
  const canonicalRequest = [
    parts.method,
    parts.path,
    canonicalQuery(parts.query),
    canonicalHeaders,
    parts.signedHeaders.join(';'),
    parts.payloadHash,
  ].join('\n');
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
}

export function signature(secret: string, amzDate: string, region: string, service: string, toSign: string): string {
  return crypto.createHmac('sha256', signingKey(secret, amzDate.slice(0, 8), region, service)).update(toSign).digest('hex');
}

/** 20261122T153000Z */
export function amzDateOf(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

export function parseAmzDate(value: string): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  return m ? new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)) : null;
}

/** Headers for a request signed in the Authorization header, x-amz-content-sha256 being the body's hash. */
export function signRequestHeaders(input: {
  method: string;
  host: string;
  path: string;
  headers: Record<string, string>;
  body: Uint8Array;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  now?: Date;
}): Record<string, string> {
  const amzDate = amzDateOf(input.now ?? new Date());
  const scope = `${amzDate.slice(0, 8)}/${input.region}/s3/aws4_request`;
  const headers: Record<string, string> = {
    ...Object.fromEntries(Object.entries(input.headers).map(([k, v]) => [k.toLowerCase(), v])),
    host: input.host,
    'x-amz-date': amzDate,
    'x-amz-content-sha256': sha256Hex(input.body),
  };
  const signedHeaders = Object.keys(headers).sort();
  const toSign = stringToSign(
    { method: input.method, path: input.path, query: [], headers, signedHeaders, payloadHash: headers['x-amz-content-sha256']! },
    amzDate,
    scope,
  );
  const sig = signature(input.secretAccessKey, amzDate, input.region, 's3', toSign);
  headers.authorization = `${ALGORITHM} Credential=${input.accessKeyId}/${scope}, SignedHeaders=${signedHeaders.join(';')}, Signature=${sig}`;
  return headers;
}

/**
 * The query string of a presigned request (SigV4 in the query, host the only signed header, payload unsigned), as
 * the SDK's getSignedUrl makes it: `query` holds the request's own parameters.
 */
export function presignedQuery(input: {
  method: string;
  host: string;
  path: string;
  query: [string, string][];
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  expiresInSeconds: number;
  now?: Date;
}): string {
  const amzDate = amzDateOf(input.now ?? new Date());
  const scope = `${amzDate.slice(0, 8)}/${input.region}/s3/aws4_request`;
  const query: [string, string][] = [
    ...input.query,
    ['X-Amz-Algorithm', ALGORITHM],
    ['X-Amz-Content-Sha256', UNSIGNED_PAYLOAD],
    ['X-Amz-Credential', `${input.accessKeyId}/${scope}`],
    ['X-Amz-Date', amzDate],
    ['X-Amz-Expires', String(input.expiresInSeconds)],
    ['X-Amz-SignedHeaders', 'host'],
  ];
  const toSign = stringToSign({ method: input.method, path: input.path, query, headers: { host: input.host }, signedHeaders: ['host'], payloadHash: UNSIGNED_PAYLOAD }, amzDate, scope);
  return `${canonicalQuery(query)}&X-Amz-Signature=${signature(input.secretAccessKey, amzDate, input.region, 's3', toSign)}`;
}
