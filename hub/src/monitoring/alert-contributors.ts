/**
 * Who contributed to an alert: the devices, app versions and backends whose share of the alarm's window is above their
 * share of the stream's history (the rollups before this update). Shares, not counts, so a busy device that was always
 * busy is not blamed.
 */
import type { AlertContributor, AlertExplanation } from '@edgeloop/shared';
import type { RollupShares } from './monitor-rollup.repository';
import { UNKNOWN_APP_VERSION } from './rollup-accumulator';

/** Contributors listed per kind. */
export const TOP_CONTRIBUTORS = 5;

export interface Sender {
  deviceKey: string;
  appVersion: string | null;
  backend: string;
}

function overRepresented(window: Map<string, number>, windowTotal: number, history: Record<string, number>, historyTotal: number): AlertContributor[] {
  return [...window]
    .map(([key, count]) => ({
      key,
      windowEvents: count,
      windowShare: count / windowTotal,
      historyShare: historyTotal > 0 ? Math.min(1, (history[key] ?? 0) / historyTotal) : 0,
    }))
    .filter((c) => c.windowShare > c.historyShare)
    .sort((a, b) => b.windowShare - b.historyShare - (a.windowShare - a.historyShare) || a.key.localeCompare(b.key))
    .slice(0, TOP_CONTRIBUTORS);
}

const countBy = (senders: readonly Sender[], key: (s: Sender) => string) => {
  const counts = new Map<string, number>();
  for (const sender of senders) counts.set(key(sender), (counts.get(key(sender)) ?? 0) + 1);
  return counts;
};

/**
 * senders: the window's events (any order). history: the stream's earlier counts; every event has one backend, so the
 * backends' sum is the history's size (device counts hold each minute's busiest devices only).
 */
export function alertContributors(senders: readonly Sender[], history: RollupShares): AlertExplanation['contributors'] {
  const historyEvents = Object.values(history.backends).reduce((sum, n) => sum + n, 0);
  const total = senders.length;
  if (total === 0) return { windowEvents: 0, historyEvents, devices: [], appVersions: [], backends: [] };
  return {
    windowEvents: total,
    historyEvents,
    devices: overRepresented(countBy(senders, (s) => s.deviceKey), total, history.devices, historyEvents),
    appVersions: overRepresented(countBy(senders, (s) => s.appVersion ?? UNKNOWN_APP_VERSION), total, history.appVersions, historyEvents),
    backends: overRepresented(countBy(senders, (s) => s.backend), total, history.backends, historyEvents),
  };
}
