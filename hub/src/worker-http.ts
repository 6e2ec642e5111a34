/**
 * The HTTP side of `edgeloop worker`, on WORKER_HTTP_PORT when set: /healthz (process up), /readyz (readiness.ts:
 * database, object store, migrations; 503 once shutdown begins) and /metrics (metrics-route.ts, the hub's access
 * rule: METRICS_TOKEN, else loopback callers only), so probes and Prometheus see workers as they see hubs: this
 * process's training images/s and job durations, and the shared queue depths. Nothing else: any other path is 404.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HubDeps } from './deps';
import { type OperationsOptions, serveOperations } from './operations-route';
import { createReadiness } from './readiness';
import { type RouteHandler, observeRequest } from './request-log';
import { listen } from './server';

export interface WorkerHttp {
  /** Where it listens, e.g. http://0.0.0.0:9464. */
  url: string;
  /** /readyz answers 503 from now on (the worker is stopping: it takes no new jobs). */
  shutDown(): void;
  /** Stops listening and closes its connections (probes and scrapes are short: nothing to wait for). */
  close(): Promise<void>;
}

export function createWorkerHttpServer(deps: HubDeps, options: OperationsOptions): http.Server {
  const route: RouteHandler = (req, res, _url, kind) => {
    if (!serveOperations(deps, kind, req, res, options)) res.writeHead(404, { 'content-type': 'text/plain' }).end('a worker serves /healthz, /readyz and /metrics only');
  };
  return http.createServer((req, res) => observeRequest(deps, req, res, route));
}

/** Starts the worker's listener on `port` at `host` (0: a free port), logging where. */
export async function startWorkerHttp(deps: HubDeps, options: { port: number; host: string; metricsToken: string | undefined }): Promise<WorkerHttp> {
  const readiness = createReadiness(deps);
  const server = createWorkerHttpServer(deps, { metricsToken: options.metricsToken, readiness });
  const address: AddressInfo = await listen(server, options.port, options.host);
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  deps.log.info(`worker HTTP on ${url} (/healthz, /readyz, /metrics)`);
  return {
    url,
    shutDown: () => readiness.shutDown(),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
