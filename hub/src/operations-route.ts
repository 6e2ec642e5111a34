/**
 * What hubs and workers alike serve for their operators: /healthz (process up), /readyz (readiness.ts) and /metrics
 * (metrics-route.ts: METRICS_TOKEN, else loopback callers only).
 */
import type http from 'node:http';
import type { HubDeps } from './deps';
import type { RouteKind } from './metrics';
import { serveMetrics } from './metrics-route';
import type { Readiness } from './readiness';

export interface OperationsOptions {
  /** METRICS_TOKEN: when set, /metrics answers only this bearer token. */
  metricsToken: string | undefined;
  readiness: Readiness;
}

/** Answers the request when `route` is one of the three; false (nothing sent) for any other route. */
export function serveOperations(deps: HubDeps, route: RouteKind, req: http.IncomingMessage, res: http.ServerResponse, options: OperationsOptions): boolean {
  switch (route) {
    case 'healthz':
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      return true;
    case 'readyz':
      options.readiness.serve(res);
      return true;
    case 'metrics':
      serveMetrics(deps, options.metricsToken, req, res).catch((error: Error) => {
        deps.log.error(`metrics: ${error.message}`);
        if (!res.headersSent) res.writeHead(503, { 'content-type': 'text/plain' }).end('metrics unavailable');
      });
      return true;
    default:
      return false;
  }
}
