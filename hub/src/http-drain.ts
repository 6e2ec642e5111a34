/**
 * Closing an HTTP server without dropping requests in flight: it stops accepting connections, closes idle keep-alive
 * connections (and each one as it turns idle), tells clients of the requests still running not to reuse their
 * connection, and lets those requests finish; whatever is left when the grace period ends is closed.
 */
import type http from 'node:http';

/** How often connections that finished their request are closed while draining. */
const IDLE_SWEEP_MS = 100;

export interface HttpDrain {
  /** Starts draining; resolves when every connection is closed, saying whether the grace period ran out first. */
  drain(graceMs: number): Promise<{ forced: boolean }>;
}

/** Call right after creating the server, so it knows which responses are in flight when draining starts. */
export function trackForDrain(server: http.Server): HttpDrain {
  const inFlight = new Set<http.ServerResponse>();
  let draining = false;
  server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    // Answered with `connection: close`, so the client opens its next request elsewhere.
    if (draining) res.shouldKeepAlive = false;
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
  });
  return {
    drain(graceMs) {
      draining = true;
      for (const res of inFlight) if (!res.headersSent) res.shouldKeepAlive = false;
      return new Promise((resolve) => {
        let forced = false;
        const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
        const deadline = setTimeout(() => {
          forced = true;
          server.closeAllConnections();
        }, graceMs);
        server.close(() => {
          clearInterval(sweep);
          clearTimeout(deadline);
          resolve({ forced });
        });
        server.closeIdleConnections();
      });
    },
  };
}
