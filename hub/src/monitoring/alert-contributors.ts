/**
 * Who contributed to an alert: the devices, app versions and backends whose share of the alarm's window is above their
 * share of the events before it (up to CONTRIBUTOR_HISTORY of them). Shares, not counts, so a busy device that was
 * always busy is not blamed. Event by event rather than from rollups: rollups keep each minute's busiest devices only,
 * and a device they dropped would look new.
 */
import type { AlertContributor, AlertExplanation } from '@edgeloop/shared';
import { UNKNOWN_APP_VERSION } from './rollup-accumulator';

/** Events before the window that the window is compared with. */
export const CONTRIBUTOR_HISTORY = 10_000;

/** Contributors listed per kind. */
export const TOP_CONTRIBUTORS = 5;

export interface Sender {
  deviceKey: string;
  appVersion: string | null;
  backend: string;
}

function overRepresented(window: Map<string, number>, windowTotal: number, history: Map<string, number>, historyTotal: number): AlertContributor[] {
  return [...window]
    .map(([key, count]) => ({
      key,
      windowEvents: count,
      windowShare: count / windowTotal,
      historyShare: historyTotal > 0 ? (history.get(key) ?? 0) / historyTotal : 0,
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

/** window: the senders of the alarm's window; history: of the events before it. */
export function alertContributors(window: readonly Sender[], history: readonly Sender[]): AlertExplanation['contributors'] {
  const total = window.length;
  const historyEvents = history.length;
  const kinds = { devices: (s: Sender) => s.deviceKey, appVersions: (s: Sender) => s.appVersion ?? UNKNOWN_APP_VERSION, backends: (s: Sender) => s.backend };
  const compare = (key: (s: Sender) => string) => (total === 0 ? [] : overRepresented(countBy(window, key), total, countBy(history, key), historyEvents));
  return { windowEvents: total, historyEvents, devices: compare(kinds.devices), appVersions: compare(kinds.appVersions), backends: compare(kinds.backends) };
}
