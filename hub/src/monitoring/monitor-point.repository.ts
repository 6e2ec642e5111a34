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
 * cut into maxPoints equal spans and each span is drawn as one point: its first event, its largest statistic and its
 * largest threshold (a detector's threshold is fixed by its profile), so an alarm is never averaged or sampled away.
 * One pass over the range through the (stream, detector, event) key or the (stream, detector, at) index.
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
  const columns = { eventIndex: monitorPoints.eventIndex, at: monitorPoints.at, value: monitorPoints.value, threshold: monitorPoints.threshold, detector: monitorPoints.detector };
  // A range of at most maxPoints is read as it is (and counting a large range would cost a pass of its own).
  const head = await db.select(columns).from(monitorPoints).where(where).orderBy(monitorPoints.eventIndex).limit(input.maxPoints + 1);
  if (head.length <= input.maxPoints) return head;
  // Without a time range these are two lookups at the ends of the primary key.
  const [span] = await db
    .select({ first: sql<number>`min(${monitorPoints.eventIndex})`.mapWith(Number), last: sql<number>`max(${monitorPoints.eventIndex})`.mapWith(Number) })
    .from(monitorPoints)
    .where(where);
  const { first, last } = span!;
  const width = Math.ceil((last - first + 1) / input.maxPoints);
  // Integers the hub computed, inlined: the GROUP BY and the select list must repeat the same expression.
  const bucket = sql`(${monitorPoints.eventIndex} - ${sql.raw(String(Math.trunc(first)))}) / ${sql.raw(String(width))}`;
  return db
    .select({
      eventIndex: sql<number>`min(${monitorPoints.eventIndex})`.mapWith(Number),
      at: sql<Date>`min(${monitorPoints.at})`.mapWith(monitorPoints.at),
      value: sql<number>`max(${monitorPoints.value})`.mapWith(Number),
      threshold: sql<number>`max(${monitorPoints.threshold})`.mapWith(Number),
      detector: sql<string>`min(${monitorPoints.detector})`,
    })
    .from(monitorPoints)
    .where(where)
    .groupBy(bucket)
    .orderBy(sql`min(${monitorPoints.eventIndex})`);
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
