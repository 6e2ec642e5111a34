/**
 * What the hub records of every HTTP request: an id (the caller's sane `x-request-id`, else a new one) sent back in
 * `x-request-id` and carried by every log line written while it is handled, one line when it ends (method, path
 * without its query, which may hold a token, status, duration, tRPC procedures), and edgeloop_http_requests_total.
 */
import type http from 'node:http';
import { BULK_PREDICTIONS_PATH } from '@edgeloop/shared';
import type { HubDeps } from './deps';
import { requestIdFrom, withRequestId } from './logger';
import { type RouteKind, httpRequests } from './metrics';

const TRPC_PREFIX = '/trpc/';
/** Probes and scrapes come every few seconds: their lines are debug, so info shows the traffic that matters. */
const QUIET_ROUTES: ReadonlySet<RouteKind> = new Set(['healthz', 'readyz', 'metrics']);
const MAX_LOGGED_PROCEDURES = 10;

export function observeRequest(deps: HubDeps, req: http.IncomingMessage, res: http.ServerResponse, handle: (req: http.IncomingMessage, res: http.ServerResponse) => void): void {
  const requestId = requestIdFrom(req.headers['x-request-id']);
  res.setHeader('x-request-id', requestId);
  const started = performance.now();
  const url = new URL(req.url ?? '/', 'http://hub');
  const route = routeKind(url);
  res.once('close', () => {
    const status = res.statusCode;
    httpRequests.inc({ route, status: String(status) });
    const fields = {
      requestId,
      method: req.method ?? '',
      path: url.pathname, // never the query: it may hold a token
      status,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
      ...(route === 'trpc' ? { procedures: trpcProcedures(url) } : {}),
      ...(res.writableFinished ? {} : { aborted: true }),
    };
    deps.log[QUIET_ROUTES.has(route) ? 'debug' : 'info'](`${fields.method} ${fields.path} ${status}`, fields);
  });
  withRequestId(requestId, () => handle(req, res));
}

/** The kind of route a path goes to (server.ts): the bounded `route` label. */
export function routeKind(url: URL): RouteKind {
  const path = url.pathname;
  if (path.startsWith(TRPC_PREFIX)) return 'trpc';
  if (path === BULK_PREDICTIONS_PATH) return 'bulk';
  if (path.startsWith('/s3/')) return 's3';
  if (path.startsWith('/cdn/')) return 'cdn';
  if (path === '/healthz' || path === '/readyz' || path === '/metrics') return path.slice(1) as RouteKind;
  if ((path === '/' || path === '/index.html') && url.searchParams.has('project')) return 'device-page';
  return 'static';
}

/** The procedures a tRPC request names (a batch names several), as the path says them; their inputs are never logged. */
function trpcProcedures(url: URL): string[] {
  let path = url.pathname.slice(TRPC_PREFIX.length);
  try {
    path = decodeURIComponent(path);
  } catch {
    // logged as sent
  }
  const names = url.searchParams.get('batch') === '1' ? path.split(',') : [path];
  return names.slice(0, MAX_LOGGED_PROCEDURES).map((name) => name.slice(0, 80));
}
