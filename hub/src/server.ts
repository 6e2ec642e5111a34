import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { appRouter } from './api/app.router';
import { authenticate } from './auth/token.service';
import { serveCdn } from './cdn/cdn-route';
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
 * One port: tRPC under /trpc, published models under /cdn, the embedded object store's presigned traffic under /s3
 * (when `s3` is given), the built web apps (web-client/dist) for everything else.
 */
export function createHubServer(
  deps: HubDeps,
  options: { webRoot: string; s3?: ((req: http.IncomingMessage, res: http.ServerResponse) => void) | null },
): http.Server {
  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: '/trpc/',
    async createContext({ req }) {
      const header = req.headers.authorization ?? '';
      const secret = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
      return { deps, caller: secret ? await authenticate(deps, secret) : null };
    },
  });
  return http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://hub');
    if (url.pathname.startsWith('/trpc/')) return trpc(req, res);
    if (options.s3 && url.pathname.startsWith('/s3/')) return options.s3(req, res);
    if (url.pathname.startsWith('/cdn/')) {
      serveCdn(deps, url.pathname, req, res).catch((error: Error) => {
        deps.log.error(`cdn ${url.pathname}: ${error.message}`);
        if (!res.headersSent) res.writeHead(502).end('object store unavailable');
      });
      return;
    }
    if (url.pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      return;
    }
    serveStatic(options.webRoot, url.pathname, res);
  });
}

function serveStatic(root: string, pathname: string, res: http.ServerResponse): void {
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
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
  if (!fs.existsSync(file)) {
    const hint = fs.existsSync(root) ? 'not found' : 'the web apps are not built: run `npm run build:web`';
    res.writeHead(404, { 'content-type': 'text/plain' }).end(hint);
    return;
  }
  // Vite puts content hashes in asset names, so those can be cached forever; pages must revalidate.
  const immutable = relative.includes(`${path.sep}assets${path.sep}`);
  res.writeHead(200, {
    'content-type': STATIC_TYPES[path.extname(file)] ?? 'application/octet-stream',
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
  });
  fs.createReadStream(file).pipe(res);
}

export function listen(server: http.Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server.address() as AddressInfo));
  });
}
