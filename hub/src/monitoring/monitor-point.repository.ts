/**
 * The monitor_points table: each detector's statistic and threshold over a stream's admitted events, written every
 * few events and at each alarm. Read back downsampled for charts.
 */
import { and, desc, eq, gte, lte, sql } from 'drizzle-orm';
import type { Database } from '../db/database';
import { monitorPoints } from '../db/schema';

export type MonitorPoint = Omit<typeof monitorPoints.$inferSelect, 'streamId'>;

/** Stores points; one already stored at the same (stream, detector, event) is kept (an update retried after a crash). */
export async function insertPoints(db: Database, streamId: string, points: MonitorPoint[]): Promise<void> {
  // 6 parameters a row: stay far below PostgreSQL's 65,535 per statement.
  for (let start = 0; start < points.length; start += 5_000) {
    const chunk = points.slice(start, start + 5_000).map((p) => ({ ...p, streamId }));
    await db.insert(monitorPoints).values(chunk).onConflictDoNothing();
  }
}

/**
 * At most `maxPoints` points of one detector in [from, to], in event order. When the range holds more, events are
 * cut into maxPoints equal spans and each span is represented by its point nearest to (or furthest past) its
 * threshold, so an alarm is never averaged or sampled away. Reads through the (stream, detector, event) key and the
 * (stream, detector, at) index only.
 */
export async function series(
  db: Database,
  input: { streamId: string; detector: string; from: Date | null; to: Date | null; maxPoints: number },
): Promise<MonitorPoint[]> {
  const where = and(
    eq(monitorPoints.streamId, input.streamId),
    eq(monitorPoints.detector, input.detector),
    input.from ? gte(monitorPoints.at, input.from) : undefined,
    input.to ? lte(monitorPoints.at, input.to) : undefined,
  );
  const [span] = await db
    .select({ first: sql<number | null>`min(${monitorPoints.eventIndex})`.mapWith(Number), last: sql<number | null>`max(${monitorPoints.eventIndex})`.mapWith(Number), count: sql<number>`count(*)`.mapWith(Number) })
    .from(monitorPoints)
    .where(where);
  if (!span || span.count === 0) return [];
  const columns = { eventIndex: monitorPoints.eventIndex, at: monitorPoints.at, value: monitorPoints.value, threshold: monitorPoints.threshold, detector: monitorPoints.detector };
  if (span.count <= input.maxPoints) return db.select(columns).from(monitorPoints).where(where).orderBy(monitorPoints.eventIndex);
  const width = Math.ceil((span.last! - span.first! + 1) / input.maxPoints);
  // Integers the hub computed, inlined: DISTINCT ON and ORDER BY must repeat the same expression, not two parameters.
  const bucket = sql`(${monitorPoints.eventIndex} - ${sql.raw(String(Math.trunc(span.first!)))}) / ${sql.raw(String(width))}`;
  const rows = await db
    .selectDistinctOn([bucket], columns)
    .from(monitorPoints)
    .where(where)
    // The point closest to (or furthest past) its threshold: value - threshold, largest first.
    .orderBy(bucket, sql`${monitorPoints.value} - ${monitorPoints.threshold} desc`, monitorPoints.eventIndex);
  return rows.sort((a, b) => a.eventIndex - b.eventIndex);
}

/** The latest event index from `since` on at which the detector's statistic was at or above its threshold, or null. */
export async function lastAtOrAbove(db: Database, input: { streamId: string; detector: string; since: number }): Promise<number | null> {
  const [row] = await db
    .select({ eventIndex: monitorPoints.eventIndex })
    .from(monitorPoints)
    .where(
      and(
        eq(monitorPoints.streamId, input.streamId),
        eq(monitorPoints.detector, input.detector),
        gte(monitorPoints.eventIndex, input.since),
        gte(monitorPoints.value, monitorPoints.threshold),
      ),
    )
    .orderBy(desc(monitorPoints.eventIndex))
    .limit(1);
  return row?.eventIndex ?? null;
}
