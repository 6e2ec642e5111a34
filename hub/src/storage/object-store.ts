import http from 'node:http';
import https from 'node:https';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { S3Credentials } from './embedded-s3';
import { encodeKeyPath, presignedQuery, signRequestHeaders } from './signature-v4';

export interface ObjectInfo {
  bytes: number;
  contentType: string | undefined;
}

export interface StoredObject {
  body: Uint8Array;
  contentType: string | undefined;
  cacheControl: string | undefined;
  etag: string | undefined;
}

/** The hub's only door to object storage. Keys are paths inside one bucket. */
export interface ObjectStore {
  put(key: string, body: Uint8Array, options: { contentType: string; cacheControl?: string }): Promise<void>;
  /** The object's bytes, or null when there is no such key. */
  get(key: string): Promise<Uint8Array | null>;
  /** The object with the headers it was stored with (what a CDN edge passes on), or null. */
  getObject(key: string): Promise<StoredObject | null>;
  head(key: string): Promise<ObjectInfo | null>;
  delete(key: string): Promise<void>;
  /** Every key under `prefix` ('' for all) with its size, in key order, a page (up to 1,000) at a time. */
  list(prefix: string): AsyncIterable<{ key: string; bytes: number }>;
  /** A URL that lets its holder PUT exactly `bytes` bytes of `contentType` at `key` until it expires. */
  presignPut(key: string, options: { contentType: string; bytes: number; expiresInSeconds: number }): Promise<string>;
  presignGet(key: string, options: { expiresInSeconds: number; downloadName?: string }): Promise<string>;
}

export interface S3Config {
  endpoint?: string;
  region: string;
  bucket: string;
  credentials: S3Credentials;
  forcePathStyle: boolean;
  /**
   * Where presigned URLs point, when not at `endpoint`: the embedded store's are made for the hub's public origin
   * (`<origin>/s3`), which clients can reach and which outlives the embedded server's loopback port. Read when a URL
   * is made, since the hub learns its port only once listening.
   */
  presignEndpoint?: () => string;
  /** Path-style presigned URLs at `presignEndpoint` (default true: the embedded store's); S3_FORCE_PATH_STYLE for S3_PUBLIC_ENDPOINT. */
  presignPathStyle?: boolean;
}

export function createS3ObjectStore(config: S3Config): ObjectStore {
  const agentOptions = { keepAlive: true, maxSockets: 64 };
  const client = new S3Client({
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    region: config.region,
    credentials: config.credentials,
    forcePathStyle: config.forcePathStyle,
    // Presigned PUTs must not carry a checksum of an empty body; S3 checks checksums only when sent.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { httpAgent: new http.Agent(agentOptions), httpsAgent: new https.Agent(agentOptions) },
  });
  const Bucket = config.bucket;
  const leanPut = createLeanPut(config, agentOptions);
  // Presigning is local computation: a client per presign endpoint, made on first use.
  let presigner: { endpoint: string; client: S3Client } | null = null;
  const presignClient = () => {
    if (!config.presignEndpoint) return client;
    const endpoint = config.presignEndpoint();
    if (presigner?.endpoint !== endpoint) {
      presigner = { endpoint, client: new S3Client({ endpoint, region: config.region, credentials: config.credentials, forcePathStyle: config.presignPathStyle ?? true, requestChecksumCalculation: 'WHEN_REQUIRED' }) };
    }
    return presigner.client;
  };

  return {
    put: leanPut,
    async get(key) {
      return (await this.getObject(key))?.body ?? null;
    },
    async getObject(key) {
      try {
        const response = await client.send(new GetObjectCommand({ Bucket, Key: key }));
        return {
          body: response.Body ? await response.Body.transformToByteArray() : new Uint8Array(),
          contentType: response.ContentType,
          cacheControl: response.CacheControl,
          etag: response.ETag,
        };
      } catch (error) {
        if (isMissing(error)) return null;
        throw error;
      }
    },
    async head(key) {
      try {
        const response = await client.send(new HeadObjectCommand({ Bucket, Key: key }));
        return { bytes: response.ContentLength ?? 0, contentType: response.ContentType };
      } catch (error) {
        if (isMissing(error)) return null;
        throw error;
      }
    },
    async delete(key) {
      await client.send(new DeleteObjectCommand({ Bucket, Key: key }));
    },
    async *list(prefix) {
      let ContinuationToken: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket, Prefix: prefix, ContinuationToken }));
        for (const object of page.Contents ?? []) if (object.Key) yield { key: object.Key, bytes: object.Size ?? 0 };
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (ContinuationToken);
    },
    presignPut(key, { contentType, bytes, expiresInSeconds }) {
      const command = new PutObjectCommand({ Bucket, Key: key, ContentType: contentType, ContentLength: bytes });
      // Signing content-type and content-length makes S3 refuse any other type or size.
      return getSignedUrl(presignClient(), command, {
        expiresIn: expiresInSeconds,
        signableHeaders: new Set(['content-type', 'content-length']),
      });
    },
    presignGet: async (key, options) => presignedGetUrl(config, key, options),
  };
}

/**
 * GetObject URLs presigned without the SDK: its getSignedUrl costs 1 to 8 ms of CPU a URL (its middleware stack),
 * and a page of thumbnails or a review inbox asks for dozens. The same URL the SDK makes (its tests compare them), for
 * the presign endpoint (path style) when there is one, else the store's endpoint.
 */
export function presignedGetUrl(config: S3Config, key: string, options: { expiresInSeconds: number; downloadName?: string; now?: Date }): string {
  const endpoint = new URL(config.presignEndpoint?.() ?? config.endpoint ?? `https://s3.${config.region}.amazonaws.com`);
  const pathStyle = config.presignEndpoint !== undefined ? (config.presignPathStyle ?? true) : config.forcePathStyle;
  const host = pathStyle ? endpoint.host : `${config.bucket}.${endpoint.host}`;
  const path = endpoint.pathname.replace(/\/$/, '') + (pathStyle ? `/${encodeKeyPath(config.bucket)}` : '') + `/${encodeKeyPath(key)}`;
  const disposition: [string, string][] = options.downloadName ? [['response-content-disposition', `attachment; filename="${options.downloadName}"`]] : [];
  const query = presignedQuery({
    method: 'GET',
    host,
    path,
    query: [...disposition, ['x-id', 'GetObject']],
    accessKeyId: config.credentials.accessKeyId,
    secretAccessKey: config.credentials.secretAccessKey,
    region: config.region,
    expiresInSeconds: options.expiresInSeconds,
    now: options.now,
  });
  return `${endpoint.protocol}//${host}${path}?${query}`;
}

function isMissing(error: unknown): boolean {
  if (error instanceof NoSuchKey || error instanceof NotFound) return true;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === 404;
}

/**
 * PutObject without the SDK: the SDK's middleware stack costs about 1 ms of CPU per request, which
 * dominates when importing tens of thousands of small images. Signed with SigV4 in the header, the
 * payload hash included, so it works against any S3.
 */
function createLeanPut(config: S3Config, agentOptions: http.AgentOptions): ObjectStore['put'] {
  const endpoint = new URL(config.endpoint ?? `https://s3.${config.region}.amazonaws.com`);
  const secure = endpoint.protocol === 'https:';
  const agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  const host = config.forcePathStyle ? endpoint.host : `${config.bucket}.${endpoint.host}`;
  const basePath = endpoint.pathname.replace(/\/$/, '') + (config.forcePathStyle ? `/${encodeKeyPath(config.bucket)}` : '');

  return (key, body, { contentType, cacheControl }) => {
    const requestPath = `${basePath}/${encodeKeyPath(key)}`;
    const headers = signRequestHeaders({
      method: 'PUT',
      host,
      path: requestPath,
      headers: {
        'content-type': contentType,
        'content-length': String(body.length),
        ...(cacheControl ? { 'cache-control': cacheControl } : {}),
      },
      body,
      accessKeyId: config.credentials.accessKeyId,
      secretAccessKey: config.credentials.secretAccessKey,
      region: config.region,
    });
    return new Promise<void>((resolve, reject) => {
      const request = (secure ? https : http).request(
        { method: 'PUT', hostname: endpoint.hostname, port: endpoint.port || (secure ? 443 : 80), path: requestPath, headers, agent },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            if (response.statusCode && response.statusCode < 300) return resolve();
            const xml = Buffer.concat(chunks).toString('utf8');
            const code = /<Code>([^<]*)<\/Code>/.exec(xml)?.[1] ?? `HTTP ${response.statusCode}`;
            const message = /<Message>([^<]*)<\/Message>/.exec(xml)?.[1] ?? '';
            reject(new Error(`S3 PutObject ${key}: ${code} ${message}`.trim()));
          });
          response.on('error', reject);
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  };
}
