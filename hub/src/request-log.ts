/**
 * What the hub records of every HTTP request: an id (the caller's sane `x-request-id`, else a new one) sent back in
 * `x-request-id` and carried by every log line written while it is handled, one line when it ends (method, path
 * without its query, which may hold a token, status, duration, tRPC procedures), and edgeloop_http_requests_total.
 */
import type http from 'node:http';
import type { HubDeps } from './deps';
import { requestIdFrom, withRequestId } from './logger';
import { type RouteKind, httpRequests } from './metrics';
import { routeKind, trpcProcedures } from './routes';

/** Probes and scrapes come every few seconds: their lines are debug, so info shows the traffic that matters. */
const QUIET_ROUTES: ReadonlySet<RouteKind> = new Set(['healthz', 'readyz', 'metrics']);
const MAX_LOGGED_PROCEDURES = 10;

/** Handles a request whose URL and route kind (routes.ts) are read once, for the log and the handler alike. */
export type RouteHandler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL, route: RouteKind) => void;

export function observeRequest(deps: HubDeps, req: http.IncomingMessage, res: http.ServerResponse, handle: RouteHandler): void {
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
      ...(route === 'trpc' ? { procedures: loggedProcedures(url) } : {}),
      ...(res.writableFinished ? {} : { aborted: true }),
    };
    deps.log[QUIET_ROUTES.has(route) ? 'debug' : 'info'](`${fields.method} ${fields.path} ${status}`, fields);
  });
  withRequestId(requestId, () => handle(req, res, url, route));
}

/** The procedures a tRPC request names, as many and as long as a log line should carry; their inputs are never logged. */
const loggedProcedures = (url: URL): string[] => trpcProcedures(url).slice(0, MAX_LOGGED_PROCEDURES).map((name) => name.slice(0, 80));
