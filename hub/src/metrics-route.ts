/**
 * GET /metrics: the registry of metrics.ts in Prometheus' text format, after reading the gauges that live in the
 * database (queue depths, monitors, open alerts), so every hub replica reports the same shared figures.
 * The metrics name project slugs: with METRICS_TOKEN set only `Authorization: Bearer <METRICS_TOKEN>` is answered;
 * without, only a loopback caller that no proxy forwarded.
 */
import crypto from 'node:crypto';
import type http from 'node:http';
import type { HubDeps } from './deps';
import { JOB_STATES, QUEUES, jobCounts, queueLabel } from './jobs/job-queue';
import { projectMonitorFigures } from './monitoring/monitor-metrics.repository';
import { monitorEvents, monitorEventsLastHour, monitorStreams, openAlerts, queueJobs, registry } from './metrics';

export async function serveMetrics(deps: HubDeps, metricsToken: string | undefined, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const refusal = metricsRefusal(metricsToken, req);
  if (refusal) {
    res.writeHead(refusal.status, { 'content-type': 'text/plain; charset=utf-8', ...(refusal.status === 401 ? { 'www-authenticate': 'Bearer' } : {}) }).end(refusal.message);
    return;
  }
  await readDatabaseGauges(deps);
  res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
}

/** Why this caller may not read the metrics, or null when it may. */
export function metricsRefusal(metricsToken: string | undefined, req: http.IncomingMessage): { status: 401 | 403; message: string } | null {
  if (metricsToken) {
    const header = req.headers.authorization ?? '';
    const sent = Buffer.from(header.startsWith('Bearer ') ? header.slice(7).trim() : '');
    const expected = Buffer.from(metricsToken);
    if (sent.length === expected.length && crypto.timingSafeEqual(sent, expected)) return null;
    return { status: 401, message: 'metrics need Authorization: Bearer <METRICS_TOKEN>' };
  }
  // A proxy on this machine makes every caller look local: a forwarded request is not a loopback caller.
  const forwarded = req.headers.forwarded !== undefined || req.headers['x-forwarded-for'] !== undefined;
  if (isLoopback(req.socket.remoteAddress) && !forwarded) return null;
  return { status: 403, message: 'metrics answer loopback callers only; set METRICS_TOKEN to scrape from elsewhere' };
}

function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return address === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** Sets the database-backed gauges anew: a project or queue that has gone drops out instead of keeping its last value. */
async function readDatabaseGauges(deps: HubDeps): Promise<void> {
  const [jobs, projects] = await Promise.all([jobCounts(deps.db), projectMonitorFigures(deps.db, new Date(deps.now().getTime() - 3600_000))]);
  queueJobs.reset();
  for (const queue of new Set(Object.values(QUEUES))) for (const state of JOB_STATES) queueJobs.set({ queue, state }, 0);
  for (const row of jobs) queueJobs.inc({ queue: queueLabel(row.queue), state: row.state }, row.jobs);
  for (const gauge of [openAlerts, monitorStreams, monitorEvents, monitorEventsLastHour]) gauge.reset();
  for (const project of projects) {
    openAlerts.set({ project: project.slug }, project.openAlerts);
    monitorStreams.set({ project: project.slug }, project.streams);
    monitorEvents.set({ project: project.slug }, project.events);
    monitorEventsLastHour.set({ project: project.slug }, project.recentEvents);
  }
}
