/**
 * `POST /v1/feedback/predictions`: prediction events in bulk, for devices and backfills. The same events, checks and
 * answer as `feedback.syncPredictions`, up to MAX_BULK_BATCH per call instead of MAX_SYNC_BATCH, and no tRPC envelope
 * to parse. Embeddings are best sent as `embeddingBase64`: 2.6x less JSON to send and parse than number arrays. The token is
 * checked like tRPC's (Bearer; role before the body is read, then project scope); errors are
 * `{ error: { code, message } }` with the field named first, and an unexpected one only as an id in the hub's log.
 */
import type http from 'node:http';
import { MAX_BULK_BODY_BYTES, type Role, type SyncPredictionsInput, bulkPredictionsInputSchema, formatIssues } from '@edgeloop/shared';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { authenticate } from '../auth/token.service';
import type { HubDeps } from '../deps';
import { HubError } from '../errors';
import { syncPredictions } from '../feedback/feedback.service';
import { bodyTooLargeMessage } from './limits';
import { assertProjectInScope, assertRole, logInternal, projectIn } from './trpc';

/** Who may send predictions: as feedback.syncPredictions. */
const ROLES: readonly Role[] = ['admin', 'engineer', 'labeler', 'device'];
const PATH = 'POST /v1/feedback/predictions';

export async function serveBulkPredictions(deps: HubDeps, secret: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  try {
    if (req.method !== 'POST') throw new TRPCError({ code: 'METHOD_NOT_SUPPORTED', message: 'send the events with POST' });
    const caller = secret ? await authenticate(deps, secret) : null;
    assertRole(caller, ROLES);
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BULK_BODY_BYTES) throw new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: bodyTooLargeMessage(MAX_BULK_BODY_BYTES, declared) });
    const body = parseBody(await readBody(req, MAX_BULK_BODY_BYTES));
    await assertProjectInScope(deps, caller, projectIn(), async () => body);
    const input = bulkPredictionsInputSchema.safeParse(body);
    if (!input.success) throw new TRPCError({ code: 'BAD_REQUEST', message: formatIssues(input.error, 'body') });
    // Typed for clients; syncPredictions checks every event itself.
    answer(res, 200, await syncPredictions(deps, caller, { project: input.data.project, predictions: input.data.predictions as SyncPredictionsInput['predictions'] }));
  } catch (error) {
    fail(deps, res, error);
  }
}

/** The body, or PAYLOAD_TOO_LARGE as soon as more than `limit` bytes have arrived. */
function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        // Answered now; the rest is read and dropped (as tRPC does), so the client reads the answer instead of
        // failing to write into a closed connection. Nothing more is kept.
        req.removeAllListeners('data');
        req.resume();
        chunks.length = 0;
        reject(new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: bodyTooLargeMessage(limit) }));
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

function parseBody(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new TRPCError({ code: 'BAD_REQUEST', message: 'body: must be JSON: { "project": ..., "predictions": [...] }' });
  }
}

function answer(res: http.ServerResponse, status: number, body: unknown, close = false): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json), ...(close ? { connection: 'close' } : {}) }).end(json);
}

/**
 * A refusal with its HTTP status and the hub's message; anything unexpected as a 500 naming only the id it is logged
 * under.
 */
function fail(deps: HubDeps, res: http.ServerResponse, error: unknown): void {
  const known = error instanceof TRPCError ? error : error instanceof HubError ? new TRPCError({ code: error.code, message: error.message, cause: error }) : null;
  const status = known ? getHTTPStatusCodeFromError(known) : 500;
  const message = known ? known.message : logInternal(deps, PATH, error instanceof Error ? error : new Error(String(error)));
  if (res.headersSent) return void res.end();
  // A body not read at all (a refused token, a declared length over the limit) is not read afterwards either.
  answer(res, status, { error: { code: known?.code ?? 'INTERNAL_SERVER_ERROR', message } }, !res.req.complete && !res.req.readableDidRead);
}
