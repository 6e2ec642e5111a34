/**
 * What the dashboard and `edgeloop monitor` read: streams with their snapshots and open alerts, rollups of the last
 * day, downsampled detector series, alerts. Every read goes to the monitor's own tables (streams, rollups, points,
 * alerts), never to predictions, so answers take the same time with a million stored events as with a hundred.
 */
import {
  type AlertExplanation,
  type MonitorSnapshot,
  SEQUENTIAL_DETECTORS,
  type SequentialDetector,
  latencyBinEdges,
  monitorSnapshotSchema,
} from '@edgeloop/shared';
import { parseStored } from '../db/stored-json';
import type { HubDeps } from '../deps';
import { notFound } from '../errors';
import { type LabelAccuracy, labelAccuracy } from '../feedback/review-assignment.service';
import { getProject } from '../projects/project.service';
import * as alerts from './alert.repository';
import * as points from './monitor-point.repository';
import * as rollups from './monitor-rollup.repository';
import * as streams from './monitor-stream.repository';

/** The dashboard's summaries cover this much time. */
export const SUMMARY_MS = 24 * 3600_000;
/** Keys listed per summary (devices, backends, app versions), the most events first. */
const SUMMARY_KEYS = 10;

export interface AlertSummary {
  id: string;
  model: string;
  version: number;
  channel: string;
  detector: SequentialDetector;
  status: 'open' | 'resolved';
  openedAt: string;
  /** Admitted-event index of the stream at which it opened. */
  openedAtEvent: number;
  resolvedAt: string | null;
  statistic: number;
  threshold: number;
  explanation: AlertExplanation;
}

export interface KeyCount {
  key: string;
  events: number;
}

export interface StreamState {
  model: string;
  version: number;
  channel: string;
  /** Events processed; admitted = those the detectors took (the device cap skips the rest). */
  events: number;
  admitted: number;
  /** When an update last stored this stream; null before its first. */
  updatedAt: string | null;
  detectors: { detector: SequentialDetector; value: number; threshold: number; alarm: boolean }[];
  /** The detectors' latest statistics and explanations; null before the first update. */
  snapshot: MonitorSnapshot | null;
  openAlerts: AlertSummary[];
  /**
   * Accuracy from people's labels of this stream's review assignments, weighted by how each was chosen (inverse
   * probability, and prediction-powered with the label-free estimate over all the stream's events).
   */
  reviews: LabelAccuracy;
  /** From the rollups of the last 24 h: events, predicted-class counts in label order, low-confidence share, mean calibrated confidence. */
  lastDay: { events: number; classCounts: number[]; lowConfidenceRate: number | null; expectedAccuracy: number | null };
}

export interface MonitorState {
  project: string;
  labels: string[];
  streams: StreamState[];
  /** All of the project's streams over the last 24 h (from rollups). */
  lastDay: {
    from: string;
    to: string;
    events: number;
    devices: KeyCount[];
    /** Devices seen (each minute's busiest ones are kept). */
    deviceCount: number;
    backends: KeyCount[];
    appVersions: KeyCount[];
    /** Latency counts per bin with the bins' lower edges in ms, and the bins' estimate of the median and 95th percentile. */
    latency: { edgesMs: number[]; counts: number[]; p50Ms: number | null; p95Ms: number | null };
  };
}

export function alertSummary(alert: alerts.AlertWithStream): AlertSummary {
  return {
    id: alert.id,
    model: alert.model,
    version: alert.version,
    channel: alert.channel,
    detector: alert.detector as SequentialDetector,
    status: alert.status,
    openedAt: alert.openedAt.toISOString(),
    openedAtEvent: alert.openedAtEvent,
    resolvedAt: alert.resolvedAt?.toISOString() ?? null,
    statistic: alert.statistic,
    threshold: alert.threshold,
    explanation: alert.explanation,
  };
}

const top = (counts: Record<string, number>): KeyCount[] =>
  Object.entries(counts)
    .map(([key, events]) => ({ key, events }))
    .sort((a, b) => b.events - a.events || a.key.localeCompare(b.key))
    .slice(0, SUMMARY_KEYS);

/** The lower edge of the bin holding quantile q of the counts, or null without counts. */
export function binQuantile(counts: number[], edges: number[], q: number): number | null {
  const total = counts.reduce((s, n) => s + n, 0);
  if (total === 0) return null;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen >= q * total) return edges[i]!;
  }
  return edges[edges.length - 1]!;
}

export async function monitorState(deps: HubDeps, input: { project: string }): Promise<MonitorState> {
  const project = await getProject(deps, input.project);
  const headers = await streams.headersOfProject(deps.db, project.id);
  const to = deps.now();
  const from = new Date(to.getTime() - SUMMARY_MS);
  const ids = headers.map((s) => s.id);
  const [totals, shares, open, lifetime] = await Promise.all([
    rollups.totals(deps.db, { streamIds: ids, from, to: new Date(to.getTime() + 60_000) }),
    rollups.shares(deps.db, { streamIds: ids, from, to: new Date(to.getTime() + 60_000) }),
    alerts.listOfProject(deps.db, { projectId: project.id, status: 'open', limit: 100 }),
    rollups.lifetimeTotals(deps.db, ids),
  ]);
  // PPI's population: every event the stream processed and their calibrated correctness (Σ f) from its rollups.
  const reviews = await Promise.all(
    headers.map((stream) => {
      const population = lifetime.get(stream.id);
      return labelAccuracy(deps, { projectId: project.id, modelVersionId: stream.modelVersionId, channel: stream.channel, ...(population ? { population } : {}) });
    }),
  );
  const edgesMs = latencyBinEdges();
  const latency = new Array<number>(edgesMs.length).fill(0);
  let events = 0;
  const streamStates = headers.map((stream, i): StreamState => {
    const snapshot = stream.snapshot === null ? null : parseStored(monitorSnapshotSchema, stream.snapshot, `monitor stream ${stream.id} snapshot`);
    const day = totals.get(stream.id);
    if (day) {
      events += day.events;
      day.latencyHistogram.forEach((n, i) => (latency[i] = (latency[i] ?? 0) + n));
    }
    const scored = day ? day.classCounts.reduce((s, n) => s + n, 0) : 0;
    return {
      model: stream.model,
      version: stream.version,
      channel: stream.channel,
      events: stream.events,
      admitted: stream.admitted,
      updatedAt: stream.revision > 0 ? stream.updatedAt.toISOString() : null,
      detectors: snapshot ? SEQUENTIAL_DETECTORS.map((detector) => ({ detector, ...pick(snapshot.detectors[detector]) })) : [],
      snapshot,
      openAlerts: open.filter((a) => a.streamId === stream.id).map(alertSummary),
      reviews: reviews[i]!,
      lastDay: {
        events: day?.events ?? 0,
        classCounts: day?.classCounts ?? [],
        lowConfidenceRate: day && scored > 0 ? day.lowConfidence / scored : null,
        expectedAccuracy: day && scored > 0 ? day.expectedCorrect / scored : null,
      },
    };
  });
  return {
    project: project.slug,
    labels: project.labels,
    streams: streamStates,
    lastDay: {
      from: from.toISOString(),
      to: to.toISOString(),
      events,
      devices: top(shares.devices),
      deviceCount: Object.keys(shares.devices).length,
      backends: top(shares.backends),
      appVersions: top(shares.appVersions),
      latency: { edgesMs, counts: latency, p50Ms: binQuantile(latency, edgesMs, 0.5), p95Ms: binQuantile(latency, edgesMs, 0.95) },
    },
  };
}

const pick = ({ value, threshold, alarm }: { value: number; threshold: number; alarm: boolean }) => ({ value, threshold, alarm });

export interface SeriesPoint {
  at: string;
  /** Admitted-event index of the stream. */
  eventIndex: number;
  value: number;
  threshold: number;
}

export async function monitorSeries(
  deps: HubDeps,
  input: { project: string; model: string; version: number; channel: string; detector: SequentialDetector; from?: string; to?: string; maxPoints: number },
): Promise<SeriesPoint[]> {
  const project = await getProject(deps, input.project);
  const stream = await streams.findByName(deps.db, { projectId: project.id, model: input.model, version: input.version, channel: input.channel });
  if (!stream) throw notFound(`no monitor stream for model "${input.model}" v${input.version} on channel "${input.channel}" in "${project.slug}" (it starts with the first prediction synced)`);
  const rows = await points.series(deps.db, {
    streamId: stream.id,
    detector: input.detector,
    from: input.from ? new Date(input.from) : null,
    to: input.to ? new Date(input.to) : null,
    maxPoints: input.maxPoints,
  });
  return rows.map((p) => ({ at: p.at.toISOString(), eventIndex: p.eventIndex, value: p.value, threshold: p.threshold }));
}

export async function listAlerts(deps: HubDeps, input: { project: string; status?: 'open' | 'resolved'; limit: number }): Promise<AlertSummary[]> {
  const project = await getProject(deps, input.project);
  const rows = await alerts.listOfProject(deps.db, { projectId: project.id, status: input.status ?? null, limit: input.limit });
  return rows.map(alertSummary);
}
