/**
 * Closing an HTTP server without dropping requests in flight: it stops accepting connections, closes idle keep-alive
 * connections (and each one as it turns idle), tells clients of the requests still running not to reuse their
 * connection, and lets those requests finish; whatever is left when the grace period ends is closed.
 *
 * Node's own closeIdleConnections() (which server.close() calls) takes a connection whose request bytes arrived but
 * are not read yet for idle and resets it: under load, with the event loop busy, that drops requests the client had
 * sent. So the drain keeps its own account: a connection is idle when none of its requests is unanswered and it has
 * read no byte since its last answer (or, new, since it was accepted, and it has had a moment to send its request).
 *
 * Closing the listening socket resets the connections the kernel has queued and the hub has not accepted yet: under
 * load (or while a load balancer still routes here) those are requests clients have sent. So the server keeps
 * accepting until no connection has come for a moment (at most half the grace period), then stops.
 */
import type http from 'node:http';
import type net from 'node:net';

/** How often idle connections are looked for while draining. */
const IDLE_SWEEP_MS = 100;
/** A connection accepted this recently that has sent nothing yet is given this long to send its request. */
const FIRST_REQUEST_MS = 1000;
/** The listening socket closes once no connection has been accepted for this long. */
const QUIET_MS = 100;

export interface HttpDrain {
  /**
   * Starts draining; resolves when every connection is closed, saying whether the grace period ran out first.
   * `onStopAccepting` is called when the listening socket closes.
   */
  drain(graceMs: number, onStopAccepting?: () => void): Promise<{ forced: boolean }>;
}

interface Connection {
  acceptedAt: number;
  /** Requests read and not yet answered. */
  open: number;
  /** socket.bytesRead when it last had nothing open; more since means a request is arriving. */
  bytesWhenIdle: number;
  answered: boolean;
}

/** Call right after creating the server, so it knows every connection and the requests in flight. */
export function trackForDrain(server: http.Server): HttpDrain {
  const connections = new Map<net.Socket, Connection>();
  const inFlight = new Set<http.ServerResponse>();
  let draining = false;
  let accepted = 0;
  server.on('connection', (socket: net.Socket) => {
    accepted++;
    connections.set(socket, { acceptedAt: Date.now(), open: 0, bytesWhenIdle: 0, answered: false });
    socket.once('close', () => connections.delete(socket));
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    // Answered with `connection: close`, so the client sends its next request elsewhere.
    if (draining) res.shouldKeepAlive = false;
    inFlight.add(res);
    const connection = connections.get(req.socket);
    if (connection) connection.open++;
    res.once('close', () => {
      inFlight.delete(res);
      if (!connection) return;
      connection.open--;
      connection.answered = true;
      if (connection.open === 0) connection.bytesWhenIdle = req.socket.bytesRead;
    });
  });

  const closeIdle = () => {
    const now = Date.now();
    for (const [socket, connection] of connections) {
      const idle = connection.open === 0 && socket.bytesRead === connection.bytesWhenIdle;
      const waitingForFirstRequest = !connection.answered && now - connection.acceptedAt < FIRST_REQUEST_MS;
      if (idle && !waitingForFirstRequest) socket.destroy();
    }
  };

  return {
    drain(graceMs, onStopAccepting) {
      draining = true;
      for (const res of inFlight) if (!res.headersSent) res.shouldKeepAlive = false;
      return new Promise((resolve) => {
        let forced = false;
        const sweep = setInterval(closeIdle, IDLE_SWEEP_MS);
        const deadline = setTimeout(() => {
          forced = true;
          server.closeAllConnections();
        }, graceMs);
        void untilQuiet(() => accepted, graceMs / 2).then(() => {
          // Stop accepting without Node's closeIdleConnections (see above); closeIdle runs at the next sweep.
          const nodeCloseIdle = server.closeIdleConnections;
          server.closeIdleConnections = () => {};
          server.close(() => {
            clearInterval(sweep);
            clearTimeout(deadline);
            resolve({ forced });
          });
          server.closeIdleConnections = nodeCloseIdle;
          onStopAccepting?.();
        });
      });
    },
  };
}

/**
 * Resolves once no connection was accepted during QUIET_MS, or after `maxMs`. Each look is taken in the check phase
 * (setImmediate), after the event loop's poll phase has accepted whatever connections the kernel had queued, even when
 * the loop was busy and the timer fired late.
 */
async function untilQuiet(acceptedSoFar: () => number, maxMs: number): Promise<void> {
  const until = Date.now() + maxMs;
  let seen = acceptedSoFar();
  while (Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(QUIET_MS, Math.max(0, until - Date.now()))));
    await new Promise((resolve) => setImmediate(resolve));
    const now = acceptedSoFar();
    if (now === seen) return;
    seen = now;
  }
}
