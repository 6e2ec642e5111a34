/**
 * GET /cdn/<path>: the hub as the CDN edge in front of the object store's public cdn/ prefix, passing on the
 * Cache-Control the publisher stored (immutable for content-hashed files, short for channel pointers) and
 * answering conditional requests with 304.
 */
import type http from 'node:http';
import { CDN_PREFIX } from '@edgeloop/shared';
import type { HubDeps } from '../deps';

export async function serveCdn(deps: HubDeps, pathname: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const cors = { 'access-control-allow-origin': '*' };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { ...cors, allow: 'GET, HEAD' }).end();
    return;
  }
  let key: string;
  try {
    key = CDN_PREFIX + decodeURIComponent(pathname.slice('/cdn/'.length));
  } catch {
    res.writeHead(400, cors).end('malformed path');
    return;
  }
  if (key.split('/').some((part) => part === '..' || part === '')) {
    res.writeHead(400, cors).end('malformed path');
    return;
  }
  const object = await deps.store.getObject(key);
  if (!object) {
    res.writeHead(404, { ...cors, 'cache-control': 'no-store' }).end('not found');
    return;
  }
  const headers = {
    ...cors,
    'content-type': object.contentType ?? 'application/octet-stream',
    'cache-control': object.cacheControl ?? 'no-cache',
    ...(object.etag ? { etag: object.etag } : {}),
  };
  if (object.etag && req.headers['if-none-match'] === object.etag) {
    res.writeHead(304, headers).end();
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': object.body.length });
  res.end(req.method === 'HEAD' ? undefined : object.body);
}
