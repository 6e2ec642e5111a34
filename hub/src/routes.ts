/**
 * Which handler a path goes to (server.ts), said once: the server dispatches on it, and the request log and
 * edgeloop_http_requests_total label requests with it (request-log.ts).
 */
import { BULK_PREDICTIONS_PATH } from '@edgeloop/shared';
import type { RouteKind } from './metrics';
import { READINESS_PATH } from './readiness';

export const TRPC_PREFIX = '/trpc/';

export function routeKind(url: URL): RouteKind {
  const path = url.pathname;
  if (path.startsWith(TRPC_PREFIX)) return 'trpc';
  if (path === BULK_PREDICTIONS_PATH) return 'bulk';
  if (path.startsWith('/s3/')) return 's3';
  if (path.startsWith('/cdn/')) return 'cdn';
  if (path === '/healthz') return 'healthz';
  if (path === READINESS_PATH) return 'readyz';
  if (path === '/metrics') return 'metrics';
  if ((path === '/' || path === '/index.html') && url.searchParams.has('project')) return 'device-page';
  return 'static';
}

/** The procedures a tRPC request names (a batch names several), decoded as tRPC decodes them: "%2C" separates calls too. */
export function trpcProcedures(url: URL): string[] {
  let path = url.pathname.slice(TRPC_PREFIX.length);
  try {
    path = decodeURIComponent(path);
  } catch {
    // tRPC answers the malformed path itself
  }
  return url.searchParams.get('batch') === '1' ? path.split(',') : [path];
}
