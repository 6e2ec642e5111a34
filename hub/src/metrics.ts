/**
 * The hub's Prometheus metrics: one registry and every metric's definition, for any module to import and update.
 * Labels stay bounded: procedure names, tRPC codes, route kinds, HTTP statuses, known queue names, project slugs.
 * Never run ids, device ids or free text. The gauges read from the database are set at scrape time
 * (metrics-route.ts).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const trpcRequests = new Counter({
  name: 'edgeloop_trpc_requests_total',
  help: 'tRPC calls by procedure and outcome (OK or the tRPC error code)',
  labelNames: ['procedure', 'code'] as const,
  registers: [registry],
});

export const trpcDuration = new Histogram({
  name: 'edgeloop_trpc_request_duration_seconds',
  help: 'tRPC call duration by procedure, authorisation included',
  labelNames: ['procedure'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

/** What an HTTP request was for, by path (server.ts): a bounded set. */
export type RouteKind = 'trpc' | 'bulk' | 'cdn' | 's3' | 'static' | 'device-page' | 'healthz' | 'readyz' | 'metrics';

export const httpRequests = new Counter({
  name: 'edgeloop_http_requests_total',
  help: 'HTTP requests by route kind and status',
  labelNames: ['route', 'status'] as const,
  registers: [registry],
});

export const syncEvents = new Counter({
  name: 'edgeloop_sync_events_total',
  help: 'Feedback events received from devices (tRPC sync and the bulk endpoint), by kind and result',
  labelNames: ['kind', 'result'] as const,
  registers: [registry],
});

/** Counts one sync call's events: `inserted` accepted, `rejected` refused, the rest duplicates. */
export function countSyncEvents(kind: 'prediction' | 'correction', counts: { inserted: number; duplicates: number; rejected: number }): void {
  if (counts.inserted) syncEvents.inc({ kind, result: 'accepted' }, counts.inserted);
  if (counts.duplicates) syncEvents.inc({ kind, result: 'duplicate' }, counts.duplicates);
  if (counts.rejected) syncEvents.inc({ kind, result: 'rejected' }, counts.rejected);
}

export const queueJobs = new Gauge({
  name: 'edgeloop_queue_jobs',
  help: 'Jobs in each pg-boss queue by state, read at scrape time (shared by every hub and worker on the database)',
  labelNames: ['queue', 'state'] as const,
  registers: [registry],
});

export const jobDuration = new Histogram({
  name: 'edgeloop_job_duration_seconds',
  help: 'Duration of the jobs this process ran, by queue (queueLabel in jobs/job-queue.ts) and outcome (ok or failed)',
  labelNames: ['queue', 'outcome'] as const,
  buckets: [0.01, 0.05, 0.25, 1, 5, 15, 60, 300, 900, 3600],
  registers: [registry],
});

export const trainingImagesPerSecond = new Gauge({
  name: 'edgeloop_training_images_per_second',
  help: "Training throughput of this process's current run (its last epoch); 0 when it trains nothing",
  registers: [registry],
});

export const trainingImages = new Counter({
  name: 'edgeloop_training_images_total',
  help: "Images this process's training runs have trained on, epochs counted (rate() gives images/s across workers)",
  registers: [registry],
});

export const openAlerts = new Gauge({
  name: 'edgeloop_open_alerts',
  help: 'Open monitor alerts by project, read at scrape time',
  labelNames: ['project'] as const,
  registers: [registry],
});

export const monitorStreams = new Gauge({
  name: 'edgeloop_monitor_streams',
  help: 'Monitor streams (model version x channel) by project, read at scrape time',
  labelNames: ['project'] as const,
  registers: [registry],
});

export const monitorEventsLastHour = new Gauge({
  name: 'edgeloop_monitor_events_last_hour',
  help: "Predictions the monitors rolled up in the last hour's buckets, by project, read at scrape time",
  labelNames: ['project'] as const,
  registers: [registry],
});

export const monitorEvents = new Gauge({
  name: 'edgeloop_monitor_events',
  help: 'Predictions the monitors have taken in so far (all streams), by project, read at scrape time',
  labelNames: ['project'] as const,
  registers: [registry],
});
