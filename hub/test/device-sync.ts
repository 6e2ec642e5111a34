/**
 * Devices syncing predictions over real HTTP, for tests and benchmarks: the events (unique ids, top-5, an embedding),
 * the two ways a device sends them (tRPC batches of feedback.syncPredictions as the PWA does, or the bulk endpoint),
 * and a fleet of devices that each send one batch at a time and retry the same batch, as an outbox does, on the errors
 * a replica going away causes (connection refused or reset, 503), on the next hub in turn. Everything else a hub
 * answers is recorded as unexpected, with what it was.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import { BULK_PREDICTIONS_PATH, MAX_SYNC_BATCH, type PredictionEvent, type SyncResult, withEmbeddingBase64 } from '@edgeloop/shared';

export interface EventOptions {
  model: string;
  version: number;
  /** The project's labels: the top-5 are its first five. */
  labels: readonly string[];
  embeddingSize: number;
  /** Every n-th event names a label the project does not have (the hub rejects it alone); default none. */
  poisonedEvery?: number;
  /** Device ids cycle through this many (default 64). */
  devices?: number;
}

/** `count` prediction events with fresh ids, as devices send them. */
export function predictionEvents(count: number, options: EventOptions): PredictionEvent[] {
  const devices = options.devices ?? 64;
  return Array.from({ length: count }, (_, i) => {
    const top = options.labels.slice(0, 5).map((label, k) => ({ label, probability: 0.5 / (k + 1) }));
    if (options.poisonedEvery && i % options.poisonedEvery === options.poisonedEvery - 1) top[0] = { label: 'not-a-label', probability: 0.5 };
    return {
      id: crypto.randomUUID(),
      model: options.model,
      version: options.version,
      backend: 'webgpu',
      latencyMs: 1.2,
      top,
      embedding: Array.from({ length: options.embeddingSize }, () => Math.fround(Math.random() * 4 - 2)),
      source: 'camera',
      createdAt: new Date(Date.UTC(2026, 10, 30, 0, 0, i % 60)).toISOString(),
      deviceId: `bench-device-${i % devices}`,
      appVersion: '1.0.0',
      channel: 'production',
    };
  });
}

export function batches<T>(all: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < all.length; i += size) out.push(all.slice(i, i + size));
  return out;
}

export function p95(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)]!;
}

/** tRPC: MAX_SYNC_BATCH-event feedback.syncPredictions calls in one HTTP request (the PWA); bulk: POST BULK_PREDICTIONS_PATH. */
export type SyncPath = 'tRPC' | 'bulk';

/** A batch as bytes, made once (before any clock, and the same bytes on every retry): the path after the hub's origin and the body. */
export interface SyncCall {
  path: string;
  body: Uint8Array<ArrayBuffer>;
  events: number;
}

export function syncCall(route: SyncPath, project: string, events: readonly PredictionEvent[]): SyncCall {
  if (route === 'bulk') {
    return { path: BULK_PREDICTIONS_PATH, body: new TextEncoder().encode(JSON.stringify({ project, predictions: events.map(withEmbeddingBase64) })), events: events.length };
  }
  const parts = batches(events, MAX_SYNC_BATCH);
  const body = Object.fromEntries(parts.map((predictions, i) => [i, { project, predictions: predictions.map(withEmbeddingBase64) }]));
  return { path: `/trpc/${parts.map(() => 'feedback.syncPredictions').join(',')}?batch=1`, body: new TextEncoder().encode(JSON.stringify(body)), events: events.length };
}

/** The answer as a sync result (the calls of a tRPC batch added up), or null when it is not a whole one. */
export function syncAnswer(route: SyncPath, text: string): SyncResult | null {
  try {
    const answers = route === 'bulk' ? [JSON.parse(text) as SyncResult] : (JSON.parse(text) as { result: { data: SyncResult } }[]).map((call) => call.result.data);
    return answers.reduce((sum, a) => ({ received: sum.received + a.received, inserted: sum.inserted + a.inserted, duplicates: sum.duplicates + a.duplicates, rejected: [...sum.rejected, ...a.rejected] }), {
      received: 0,
      inserted: 0,
      duplicates: 0,
      rejected: [] as SyncResult['rejected'],
    });
  } catch {
    return null;
  }
}

/**
 * POSTs the bytes with the token on kept-alive connections (node:http: fetch spends more CPU per request than the
 * hub's handling of it, and clients share the hubs' machine here).
 */
export function post(agent: http.Agent, url: string, secret: string, body: Uint8Array): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', agent, headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'content-length': body.length } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
      response.on('aborted', () => reject(Object.assign(new Error('the answer was cut off'), { code: 'ECONNRESET' })));
    });
    request.setTimeout(REQUEST_TIMEOUT_MS, () => request.destroy(Object.assign(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`), { code: 'ETIMEDOUT' })));
    request.on('error', reject);
    request.end(body);
  });
}

const REQUEST_TIMEOUT_MS = 60_000;

/** What a device may retry: the hub it reached went away (refused, reset, its socket closed under a write) or said it cannot serve now. */
const RETRYABLE_CODES = ['ECONNREFUSED', 'ECONNRESET', 'EPIPE'];

export interface FleetOptions {
  /** The hubs' origins; a device's attempts go to each in turn (a load balancer's round robin), starting at its own. */
  hubs: readonly string[];
  secret: string;
  project: string;
  devices: number;
  /** How each device sends: device d uses routes[d % routes.length]. */
  routes: readonly SyncPath[];
  /** The d-th device's n-th batch as `route` sends it (its events made once, so its retries resend the same ids). */
  batch(device: number, n: number, route: SyncPath): SyncCall;
  /** Each device stops after this many batches; without, it sends until stop(). */
  batchesPerDevice?: number;
  /** A device's pause between acknowledged batches (default 0). */
  pauseMs?: number;
  /** A batch not acknowledged within this long fails the fleet (default 120 s). */
  giveUpAfterMs?: number;
}

export interface FleetReport {
  /** Batches acknowledged (each exactly once, with a whole answer). */
  batches: number;
  events: number;
  inserted: number;
  duplicates: number;
  rejected: number;
  /** Milliseconds of each acknowledged call (the attempt that was answered). */
  latenciesMs: number[];
  /** Acknowledged calls per hub origin. */
  perHub: Record<string, number>;
  /** Retried errors by kind: ECONNREFUSED, ECONNRESET, EPIPE, HTTP 503. */
  retried: Record<string, number>;
  /** Anything else: an error or status that is not retryable, or a 200 whose answer does not account for the batch. */
  unexpected: string[];
  seconds: number;
}

export interface Fleet {
  /** Batches acknowledged so far. */
  acknowledged(): number;
  /** Resolves once `count` batches have been acknowledged (or the fleet is done). */
  whenAcknowledged(count: number): Promise<void>;
  /** Each device finishes (acknowledges) the batch in hand, then stops. */
  stop(): void;
  /** Each device stops at once, its batch in hand unacknowledged (a test's cleanup after a failure). */
  abandon(): void;
  done: Promise<FleetReport>;
}

/** Starts `devices` devices sending their batches through the hubs. */
export function startFleet(options: FleetOptions): Fleet {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.devices });
  const report: FleetReport = { batches: 0, events: 0, inserted: 0, duplicates: 0, rejected: 0, latenciesMs: [], perHub: {}, retried: {}, unexpected: [], seconds: 0 };
  let stopped = false;
  let abandoned = false;
  const waiters: { count: number; resolve: () => void }[] = [];
  const acknowledged = () => {
    report.batches++;
    for (const waiter of waiters.filter((w) => report.batches >= w.count)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };
  const started = performance.now();

  async function device(d: number): Promise<void> {
    const route = options.routes[d % options.routes.length]!;
    let attempt = d;
    for (let n = 0; !stopped && (options.batchesPerDevice === undefined || n < options.batchesPerDevice); n++) {
      const call = options.batch(d, n, route);
      const deadline = Date.now() + (options.giveUpAfterMs ?? 120_000);
      for (let retry = 0; ; retry++) {
        const hub = options.hubs[attempt++ % options.hubs.length]!;
        const sent = performance.now();
        const outcome = await post(agent, `${hub}${call.path}`, options.secret, call.body).then(
          (answer) => ({ answer }),
          (error: NodeJS.ErrnoException) => ({ error }),
        );
        if ('answer' in outcome && outcome.answer.status === 200) {
          const result = syncAnswer(route, outcome.answer.text);
          if (!result || result.received !== call.events || result.inserted + result.duplicates + result.rejected.length !== call.events) {
            report.unexpected.push(`${hub}: a 200 that does not account for the ${call.events} events sent: ${outcome.answer.text.slice(0, 300)}`);
          } else {
            report.events += call.events;
            report.inserted += result.inserted;
            report.duplicates += result.duplicates;
            report.rejected += result.rejected.length;
          }
          report.latenciesMs.push(performance.now() - sent);
          report.perHub[hub] = (report.perHub[hub] ?? 0) + 1;
          acknowledged();
          break;
        }
        const kind = 'answer' in outcome ? `HTTP ${outcome.answer.status}` : (outcome.error.code ?? outcome.error.message);
        if (kind !== 'HTTP 503' && !RETRYABLE_CODES.includes(kind)) {
          report.unexpected.push(`${hub}: ${kind}: ${'answer' in outcome ? outcome.answer.text.slice(0, 300) : outcome.error.message}`);
          break;
        }
        report.retried[kind] = (report.retried[kind] ?? 0) + 1;
        if (abandoned) return;
        if (Date.now() > deadline) {
          report.unexpected.push(`a batch was not acknowledged within ${options.giveUpAfterMs ?? 120_000} ms (last: ${kind} from ${hub})`);
          stopped = true;
          return;
        }
        // A short pause that grows, as an outbox backs off, so a hub coming back is not met by every device at once.
        await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** Math.min(retry, 5))));
      }
      if (options.pauseMs) await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
    }
  }

  const done = Promise.all(Array.from({ length: options.devices }, (_, d) => device(d))).then(() => {
    report.seconds = (performance.now() - started) / 1000;
    agent.destroy();
    for (const waiter of waiters.splice(0)) waiter.resolve();
    return report;
  });
  return {
    acknowledged: () => report.batches,
    whenAcknowledged: (count) => (report.batches >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve }))),
    stop: () => void (stopped = true),
    abandon: () => void (stopped = abandoned = true),
    done,
  };
}
