/** What syncing predictions does for monitoring: ask for an update of each stream that received events. */
import type { HubDeps } from '../deps';
import { requestMonitorUpdate } from './monitor.job';

/** Streams (model version, channel) of the rows inserted now; a failure to ask is logged, never fails the sync. */
export async function requestMonitorUpdates(
  deps: HubDeps,
  projectId: string,
  rows: readonly { id: string; modelVersionId: string; channel?: string }[],
  inserted: readonly { id: string }[],
): Promise<void> {
  if (!inserted.length) return;
  const ids = new Set(inserted.map((row) => row.id));
  const streams = new Map<string, { projectId: string; modelVersionId: string; channel: string }>();
  for (const row of rows) {
    if (!ids.has(row.id)) continue;
    const channel = row.channel ?? 'production';
    streams.set(`${row.modelVersionId}/${channel}`, { projectId, modelVersionId: row.modelVersionId, channel });
  }
  for (const stream of streams.values()) {
    await requestMonitorUpdate(deps, stream).catch((error: Error) => deps.log.warn(`monitor update for ${stream.modelVersionId}/${stream.channel} not requested: ${error.message}`));
  }
}
