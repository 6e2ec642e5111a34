import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { trackForDrain } from './http-drain';

const servers: http.Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.closeAllConnections();
});

/** A server whose /slow answers when `release` is called; anything else answers at once. */
async function startServer() {
  const releases: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    if (req.url === '/slow') releases.push(() => res.end('slow done'));
    else res.end('quick');
  });
  servers.push(server);
  const drain = trackForDrain(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const requested = (count: number) =>
    new Promise<void>((resolve) => {
      const check = () => (releases.length >= count ? resolve() : setTimeout(check, 10));
      check();
    });
  return { server, drain, port, releaseAll: () => releases.splice(0).forEach((release) => release()), requested };
}

function get(port: number, path: string, agent: http.Agent): Promise<{ body: string; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ body, connection: res.headers.connection }));
      })
      .on('error', reject);
  });
}

describe('draining an HTTP server', () => {
  it('lets a request in flight finish with connection: close, closes idle keep-alive connections, and stops accepting', async () => {
    const { drain, port, releaseAll, requested } = await startServer();
    const agent = new http.Agent({ keepAlive: true });
    // One keep-alive connection that has answered and sits idle, one carrying a slow request.
    expect(await get(port, '/quick', agent)).toEqual({ body: 'quick', connection: 'keep-alive' });
    const slow = get(port, '/slow', new http.Agent({ keepAlive: true }));
    await requested(1);
    const idleSocketClosed = new Promise((resolve) => Object.values(agent.freeSockets).flat()[0]!.once('close', resolve));

    const drained = drain.drain(10_000);
    await idleSocketClosed;
    releaseAll();
    expect(await slow).toEqual({ body: 'slow done', connection: 'close' });
    expect(await drained).toEqual({ forced: false });
    await expect(get(port, '/quick', new http.Agent())).rejects.toThrow(/ECONNREFUSED/);
    agent.destroy();
  });

  it('closes what is left when the grace period ends', async () => {
    const { drain, port, requested } = await startServer();
    const slow = get(port, '/slow', new http.Agent());
    await requested(1);
    expect(await drain.drain(200)).toEqual({ forced: true });
    await expect(slow).rejects.toThrow(/socket hang up|ECONNRESET/);
  });
});
