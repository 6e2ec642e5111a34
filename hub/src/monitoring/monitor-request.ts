/**
 * What syncing predictions does for monitoring: ask for an update of each stream that received events, off the
 * request path. A sync call answers once its events are stored; asking the queue (a write and its commit, ~50 ms on
 * this machine's disk) happens meanwhile. Per stream at most one ask is in flight: calls that arrive during it make
 * one more ask after it, so a burst of calls costs two queue writes, not one per call, and the last events of a burst
 * are always asked for.
 */
import type { HubDeps } from '../deps';
import type { MonitorUpdateJob } from '@edgeloop/shared';
import { requestMonitorUpdate } from './monitor.job';

interface Asking {
  /** Settles when the ask in flight, and the one after it if any, are done. */
  done: Promise<void>;
  again: boolean;
}

/** Per queue (one per hub): the streams being asked for, by stream key. */
const asking = new WeakMap<object, Map<string, Asking>>();

/** Streams (model version, channel) of the rows inserted now; a failure to ask is logged, never fails the sync. */
export function requestMonitorUpdates(
  deps: HubDeps,
  projectId: string,
  rows: readonly { id: string; modelVersionId: string; channel?: string }[],
  inserted: readonly { id: string }[],
): void {
  if (!inserted.length) return;
  const ids = new Set(inserted.map((row) => row.id));
  const streams = new Map<string, MonitorUpdateJob>();
  for (const row of rows) {
    if (!ids.has(row.id)) continue;
    const channel = row.channel ?? 'production';
    streams.set(`${row.modelVersionId}/${channel}`, { projectId, modelVersionId: row.modelVersionId, channel });
  }
  for (const [key, stream] of streams) ask(deps, key, stream);
}

function ask(deps: HubDeps, key: string, stream: MonitorUpdateJob): void {
  let inFlight = asking.get(deps.queue);
  if (!inFlight) asking.set(deps.queue, (inFlight = new Map()));
  const current = inFlight.get(key);
  if (current) {
    current.again = true;
    return;
  }
  const entry: Asking = { again: false, done: Promise.resolve() };
  entry.done = (async () => {
    do {
      entry.again = false;
      await requestMonitorUpdate(deps, stream).catch((error: Error) => deps.log.warn(`monitor update for ${key} not requested: ${error.message}`));
    } while (entry.again);
    inFlight.delete(key);
  })();
  inFlight.set(key, entry);
}

/** Settles once every ask made so far is done (a hub closing, a test reading the queue). */
export async function monitorRequestsSettled(deps: HubDeps): Promise<void> {
  await Promise.all([...(asking.get(deps.queue)?.values() ?? [])].map((entry) => entry.done));
}
