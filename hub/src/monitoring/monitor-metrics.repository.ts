import { sql } from 'drizzle-orm';
import type { Database } from '../db/database';
import { rowsOf } from '../db/raw-rows';

/** What /metrics reports of one project's monitors (metrics-route.ts). */
export interface ProjectMonitorFigures {
  slug: string;
  openAlerts: number;
  streams: number;
  /** Events the monitors took in, all streams, ever. */
  events: number;
  /** Events in the rollup buckets from `since` on. */
  recentEvents: number;
}

/** Every project's monitor figures in one read (a few counts per project, for each scrape). */
export async function projectMonitorFigures(db: Database, since: Date): Promise<ProjectMonitorFigures[]> {
  const rows = await rowsOf<{ slug: string; open_alerts: number | string; streams: number | string; events: number | string; recent: number | string }>(
    db,
    sql`select p.slug,
          (select count(*) from alerts a where a.project_id = p.id and a.status = 'open') as open_alerts,
          (select count(*) from monitor_streams s where s.project_id = p.id) as streams,
          (select coalesce(sum(s.events), 0) from monitor_streams s where s.project_id = p.id) as events,
          (select coalesce(sum(r.events), 0) from monitor_rollups r join monitor_streams s on s.id = r.stream_id
            where s.project_id = p.id and r.bucket >= ${since.toISOString()}::timestamptz) as recent
        from projects p`,
  );
  return rows.map((row) => ({ slug: row.slug, openAlerts: Number(row.open_alerts), streams: Number(row.streams), events: Number(row.events), recentEvents: Number(row.recent) }));
}
