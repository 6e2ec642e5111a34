import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { appRouter } from './api/app.router';
import { MAX_BATCH_CALLS } from '@edgeloop/shared';
import { serveBulkPredictions } from './api/feedback-bulk.route';
import { batchTooLargeMessage, bodyLimitFor, bodyTooLargeMessage } from './api/limits';
import { authenticate } from './auth/token.service';
import { serveCdn } from './cdn/cdn-route';
import { devicePage } from './registry/device-start';
import { serveOperations } from './operations-route';
import { type Readiness, createReadiness } from './readiness';
import { type RouteHandler, observeRequest } from './request-log';
import { TRPC_PREFIX, trpcProcedures } from './routes';
import type { HubDeps } from './deps';

const STATIC_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
  '.ico': 'image/x-icon',
};

/**
 * One port: tRPC under /trpc, /healthz (process up) and /readyz (readiness.ts), bulk prediction uploads at /v1/feedback/predictions, published models under /cdn, the embedded object store's presigned traffic under /s3
 * (when `s3` is given), the built web apps (web-client/dist) for everything else.
 */
export function createHubServer(
  deps: HubDeps,
  options: {
    webRoot: string;
    s3?: ((req: http.IncomingMessage, res: http.ServerResponse) => void) | null;
    /** METRICS_TOKEN: when set, /metrics answers only this bearer token (metrics-route.ts). */
    metricsToken?: string | undefined;
    /** What /readyz answers; the caller keeps it to turn it 503 at shutdown. */
    readiness?: Readiness;
  },
): http.Server {
  const readiness = options.readiness ?? createReadiness(deps);
  // One tRPC handler per body limit; tRPC stops reading a body at its handler's limit and answers 413.
  const handlers = new Map<number, ReturnType<typeof createHTTPHandler>>();
  const trpcWithLimit = (maxBodySize: number) => {
    let handler = handlers.get(maxBodySize);
    if (!handler) {
      handler = createHTTPHandler({
        router: appRouter,
        basePath: TRPC_PREFIX,
        maxBodySize,
        // A backstop only: serveTrpc refuses a larger batch before tRPC sees it, with the hub's own message.
        maxBatchSize: MAX_BATCH_CALLS,
        async createContext({ req }) {
          const secret = bearerSecret(req);
          return { deps, caller: secret ? await authenticate(deps, secret) : null, bodyLimit: maxBodySize };
        },
      });
      handlers.set(maxBodySize, handler);
    }
    return handler;
  };
  const route: RouteHandler = (req, res, url, kind) => {
    switch (kind) {
      case 'trpc':
        return serveTrpc(req, res, url, trpcWithLimit);
      case 'bulk':
        return void serveBulkPredictions(deps, bearerSecret(req), req, res);
      case 's3':
        if (options.s3) return options.s3(req, res);
        break;
      case 'cdn':
        serveCdn(deps, url.pathname, req, res).catch((error: Error) => {
          deps.log.error(`cdn ${url.pathname}: ${error.message}`);
          if (!res.headersSent) res.writeHead(502).end('object store unavailable');
        });
        return;
      case 'healthz':
      case 'readyz':
      case 'metrics':
        serveOperations(deps, kind, req, res, { metricsToken: options.metricsToken, readiness });
        return;
      case 'device-page':
        serveDevicePage(deps, options.webRoot, url.searchParams, res).catch(() => serveStatic(options.webRoot, '/', res));
        return;
    }
    serveStatic(options.webRoot, url.pathname, res, req.headers['accept-encoding']);
  };
  return http.createServer((req, res) => observeRequest(deps, req, res, route));
}

/** The token of `Authorization: Bearer <token>`, or '' without one. */
function bearerSecret(req: http.IncomingMessage): string {
  const header = req.headers.authorization ?? '';
  return header.startsWith('Bearer ') ? header.slice(7).trim() : '';
}

/**
 * Refuses an oversized batch, or a body whose declared length is over the limit, before reading a byte of it (and
 * closes the connection, so the body is never read); any other body is limited by tRPC while it streams in.
 */
function serveTrpc(req: http.IncomingMessage, res: http.ServerResponse, url: URL, trpcWithLimit: (maxBodySize: number) => ReturnType<typeof createHTTPHandler>): void {
  const procedures = trpcProcedures(url);
  if (procedures.length > MAX_BATCH_CALLS) return refuse(res, 'BAD_REQUEST', batchTooLargeMessage(procedures.length));
  const limit = bodyLimitFor(procedures);
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return refuse(res, 'PAYLOAD_TOO_LARGE', bodyTooLargeMessage(limit, declared));
  void trpcWithLimit(limit)(req, res);
}

const REFUSALS = { BAD_REQUEST: { status: 400, rpc: -32600 }, PAYLOAD_TOO_LARGE: { status: 413, rpc: -32013 } } as const;

/**
 * An error in tRPC's shape, so tRPC clients read the message and data.code as for any other error. The request's body
 * is left unread: with `connection: close` Node ends the connection after the answer, where keeping it alive would
 * make Node read (and discard) all of a body declared as 200 MB.
 */
function refuse(res: http.ServerResponse, code: keyof typeof REFUSALS, message: string): void {
  const { status, rpc } = REFUSALS[code];
  const body = JSON.stringify({ error: { message, code: rpc, data: { code, httpStatus: status, path: null, fieldErrors: null } } });
  res.writeHead(status, { 'content-type': 'application/json', connection: 'close' }).end(body);
}

const ENCODED_COPIES = [
  ['br', '.br'],
  ['gzip', '.gz'],
] as const;

/** The encodings a client accepts (`Accept-Encoding`), lower case, without those it refuses with q=0. */
function acceptedEncodings(acceptEncoding: string | string[] | undefined): Set<string> {
  const header = Array.isArray(acceptEncoding) ? acceptEncoding.join(',') : (acceptEncoding ?? '');
  return new Set(
    header
      .split(',')
      .map((part) => part.trim().split(';'))
      .filter(([, q]) => !/^\s*q=0(\.0*)?\s*$/.test(q ?? ''))
      .map(([token]) => token!.toLowerCase()),
  );
}

function serveStatic(root: string, pathname: string, res: http.ServerResponse, acceptEncoding?: string | string[]): void {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    res.writeHead(400, { 'content-type': 'text/plain' }).end('malformed path');
    return;
  }
  const relative = path.normalize(decoded).replace(/^(\.\.[/\\])+/, '');
  let file = path.join(root, relative);
  if (!file.startsWith(root)) {
    res.writeHead(400, { 'content-type': 'text/plain' }).end('bad path');
    return;
  }
  if (fs.statSync(file, { throwIfNoEntry: false })?.isDirectory()) file = path.join(file, 'index.html');
  if (!fs.existsSync(file)) {
    const hint = fs.existsSync(root) ? 'not found' : 'the web apps are not built: run `npm run build:web`';
    res.writeHead(404, { 'content-type': 'text/plain' }).end(hint);
    return;
  }
  // Vite puts content hashes in asset names, so those can be cached forever; pages must revalidate.
  const immutable = relative.includes(`${path.sep}assets${path.sep}`);
  // The build's compressed copies (web-client/src/precompress-plugin.ts; none for small or incompressible files),
  // best first: the first the client accepts is sent.
  const copies = ENCODED_COPIES.filter(([, extension]) => fs.existsSync(file + extension));
  const accepted = acceptedEncodings(acceptEncoding);
  const encoded = copies.find(([encoding]) => accepted.has(encoding));
  res.writeHead(200, {
    'content-type': STATIC_TYPES[path.extname(file)] ?? 'application/octet-stream',
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    // Caches between here and the browser keep one answer per encoding.
    ...(copies.length > 0 ? { vary: 'accept-encoding' } : {}),
    ...(encoded ? { 'content-encoding': encoded[0] } : {}),
  });
  fs.createReadStream(encoded ? file + encoded[1] : file).pipe(res);
}

/** The PWA's page with what a device's first model check needs (registry/device-start.ts). */
async function serveDevicePage(deps: HubDeps, root: string, query: URLSearchParams, res: http.ServerResponse): Promise<void> {
  const file = path.join(root, 'index.html');
  if (!fs.existsSync(file)) return serveStatic(root, '/', res);
  const html = await devicePage(deps, await fs.promises.readFile(file, 'utf8'), query);
  res.writeHead(200, { 'content-type': STATIC_TYPES['.html']!, 'cache-control': 'no-cache' }).end(html);
}

export function listen(server: http.Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server.address() as AddressInfo));
  });
}
