/**
 * Devices seen: per installation that sent predictions in a recent window, when it was last seen, how much it sent,
 * the model versions and backends it ran, its app version, and its latency distribution (exact p50/p95 and the
 * shared latency bins). Read-only and bounded: the window is at most MAX_DEVICE_WINDOW_DAYS long and holds at most the
 * latest MAX_WINDOW_PREDICTIONS predictions, give or take those made in the same instant as the last (so a page costs the same for a fleet sending millions a week), and the
 * devices are paged.
 */
import { latencyBinEdges } from '@edgeloop/shared';
import type { HubDeps } from '../deps';
import { getProject } from '../projects/project.service';
import * as stats from './device-stats.repository';

/** The longest window "Devices seen" looks back over. */
export const MAX_DEVICE_WINDOW_DAYS = 90;
/** Most devices one page lists. */
export const MAX_DEVICE_PAGE = 100;
/** Most predictions one window aggregates: the latest of the window when it holds more. */
export const MAX_WINDOW_PREDICTIONS = 20_000;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface LatencySummary {
  p50Ms: number | null;
  p95Ms: number | null;
  /** Counts per latency bin [LATENCY_BINS]; bin i holds latencies from edgesMs[i] up to edgesMs[i + 1]. */
  counts: number[];
}

export interface DeviceSummary {
  /** The installation's id; null for predictions from app versions that sent none (counted together). */
  deviceId: string | null;
  /** Names of the tokens its predictions came with. */
  tokens: string[];
  lastSeen: string;
  predictions: number;
  models: { model: string; version: number }[];
  backends: string[];
  appVersion: string | null;
  latency: LatencySummary;
}

export interface DevicesSeen {
  /**
   * from: where the window starts; later than `days` ago when it held more than maxPredictions predictions (truncated),
   * so it holds the latest maxPredictions (of every backend, before the backend filter).
   */
  window: { from: string; to: string; days: number; backend: string | null; truncated: boolean; maxPredictions: number };
  /** Lower edge in ms of each latency bin, for every histogram below. */
  edgesMs: number[];
  /** The backends seen in the window with their prediction counts (the filter's choices). */
  backends: { backend: string; predictions: number }[];
  /** Every prediction of the window (after the backend filter). */
  overall: LatencySummary & { predictions: number };
  devices: DeviceSummary[];
  total: number;
  limit: number;
  offset: number;
}

export async function devicesSeen(
  deps: HubDeps,
  input: { project: string; days: number; backend?: string | undefined; limit: number; offset: number; maxPredictions?: number },
): Promise<DevicesSeen> {
  const project = await getProject(deps, input.project);
  const maxPredictions = input.maxPredictions ?? MAX_WINDOW_PREDICTIONS;
  const to = deps.now();
  const start = await stats.startOfLatest(deps.db, { projectId: project.id, from: new Date(to.getTime() - input.days * DAY_MS), to }, maxPredictions);
  const from = start ?? new Date(to.getTime() - input.days * DAY_MS);
  const window: stats.DeviceWindow = { projectId: project.id, from, to, ...(input.backend ? { backend: input.backend } : {}) };
  const { rows, total } = await stats.devicePage(deps.db, window, input);
  const latency = await stats.windowLatency(deps.db, window);
  const names = await stats.versionNames(deps.db, [...new Set(rows.flatMap((r) => r.modelVersionIds))]);
  return {
    window: { from: from.toISOString(), to: to.toISOString(), days: input.days, backend: input.backend ?? null, truncated: start !== null, maxPredictions },
    edgesMs: latencyBinEdges(),
    backends: latency.backends,
    overall: { predictions: latency.predictions, p50Ms: latency.p50Ms, p95Ms: latency.p95Ms, counts: latency.histogram },
    devices: rows.map((r) => ({
      deviceId: r.key === '' ? null : r.key,
      tokens: r.sentBy,
      lastSeen: r.lastSeen.toISOString(),
      predictions: r.predictions,
      models: r.modelVersionIds
        .flatMap((id) => names.get(id) ?? [])
        .sort((a, b) => a.model.localeCompare(b.model) || a.version - b.version),
      backends: r.backends,
      appVersion: r.appVersion,
      latency: { p50Ms: r.p50Ms, p95Ms: r.p95Ms, counts: r.histogram },
    })),
    total,
    limit: input.limit,
    offset: input.offset,
  };
}
