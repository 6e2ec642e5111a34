/**
 * `POST /v1/feedback/predictions`: prediction events in bulk, for devices and backfills. The same events, checks and
 * answer as `feedback.syncPredictions`, up to MAX_BULK_BATCH per call instead of MAX_SYNC_BATCH, with embeddings as
 * base64 float32 (`embeddingBase64`) allowed: 2.6x less JSON to send and parse than number arrays. The token is
 * checked like tRPC's (Bearer; role before the body is read, then project scope); errors are
 * `{ error: { code, message } }` with the field named first, and an unexpected one only as an id in the hub's log.
 */
import type http from 'node:http';
import {
  MAX_BULK_BODY_BYTES,
  MAX_EMBEDDING_SIZE,
  type RejectedEvent,
  type Role,
  type SyncPredictionsInput,
  type SyncResult,
  bulkPredictionsInputSchema,
  embeddingFromBytes,
} from '@edgeloop/shared';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { z } from 'zod';
import { authenticate } from '../auth/token.service';
import type { Caller, HubDeps } from '../deps';
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
    if (!input.success) throw new TRPCError({ code: 'BAD_REQUEST', message: input.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') });
    answer(res, 200, await syncBulk(deps, caller, input.data.project, input.data.predictions));
  } catch (error) {
    fail(deps, res, error);
  }
}

/**
 * Decodes each `embeddingBase64` into the `embedding` the event schema checks; an event whose base64 is bad is rejected
 * here with its index, the rest go to syncPredictions, and both answers are merged in the batch's order.
 */
async function syncBulk(deps: HubDeps, caller: Caller, project: string, events: unknown[]): Promise<SyncResult> {
  const passed: unknown[] = [];
  const positions: number[] = []; // passed[i] is events[positions[i]]
  const rejected: RejectedEvent[] = [];
  events.forEach((event, index) => {
    const decoded = withEmbeddingDecoded(event);
    if ('reason' in decoded) rejected.push({ id: idOf(event), index, reason: decoded.reason });
    else (passed.push(decoded.event), positions.push(index));
  });
  // Typed for clients; syncPredictions checks every event itself.
  const synced = await syncPredictions(deps, caller, { project, predictions: passed as SyncPredictionsInput['predictions'] });
  rejected.push(...synced.rejected.map((r) => ({ ...r, index: positions[r.index]! })));
  return { received: events.length, inserted: synced.inserted, duplicates: synced.duplicates, rejected: rejected.sort((a, b) => a.index - b.index) };
}

/** base64 of 1..MAX_EMBEDDING_SIZE float32 values: 4 characters per 3 bytes, padded. */
const MAX_BASE64_CHARS = 4 * Math.ceil((MAX_EMBEDDING_SIZE * 4) / 3);

function withEmbeddingDecoded(event: unknown): { event: unknown } | { reason: string } {
  if (!event || typeof event !== 'object' || !('embeddingBase64' in event)) return { event };
  const { embeddingBase64: text, ...rest } = event as Record<string, unknown>;
  const problem = (what: string) => ({ reason: `embeddingBase64: ${what}` });
  if ('embedding' in rest) return problem('send the embedding once, as embedding or as embeddingBase64, not both');
  if (typeof text === 'string' && text.length > MAX_BASE64_CHARS) {
    return problem(`embedding must hold at most ${MAX_EMBEDDING_SIZE} values (${MAX_BASE64_CHARS} base64 characters)`);
  }
  // Buffer.from skips what is not base64; only text that decodes and encodes back to itself is taken (a regex cost 8 µs).
  const bytes = typeof text === 'string' ? Buffer.from(text, 'base64') : null;
  if (!bytes || bytes.toString('base64') !== text) return problem("must be base64 of the embedding's float32 values, little-endian");
  if (bytes.length === 0 || bytes.length % 4 !== 0) return problem(`must hold whole float32 values (4 bytes each), got ${bytes.length} bytes`);
  const values = embeddingFromBytes(bytes);
  const embedding = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    if (!Number.isFinite(value)) return problem(`value ${i} is ${value} (NaN and infinities are refused)`);
    embedding[i] = value;
  }
  return { event: { ...rest, embedding } };
}

/** The event's own id when it has a valid one, as syncPredictions reports it. */
function idOf(event: unknown): string | null {
  const parsed = z.uuid().safeParse(event && typeof event === 'object' ? (event as { id?: unknown }).id : undefined);
  return parsed.success ? parsed.data : null;
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
