/**
 * The monitor_rollups table: per stream and minute, the counts the dashboard reads instead of scanning events (class
 * mix, low confidence, expected correct, confidence and latency histograms, backends, app versions, busiest devices).
 * An update adds its counts to the minute's row, so buckets that several updates touched still sum right.
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../db/database';
import { rowsOf } from '../db/raw-rows';
import { monitorRollups } from '../db/schema';

export type Rollup = Omit<typeof monitorRollups.$inferSelect, 'streamId'>;

/** Element-wise sum of the stored array and the new row's (arrays of different length: missing elements count 0). */
const addArrays = (column: string) =>
  sql.raw(`array(select coalesce(a, 0) + coalesce(b, 0) from unnest(monitor_rollups.${column}, excluded.${column}) with ordinality as t(a, b, i) order by i)`);
/** Sum of two {key: count} objects; `keep` bounds how many keys (the largest counts) stay. */
const addCounts = (column: string, keep?: number) =>
  sql.raw(
    `(select coalesce(jsonb_object_agg(k, n), '{}'::jsonb) from (select k, sum(v::bigint) as n from (select key as k, value as v from jsonb_each_text(monitor_rollups.${column}) ` +
      `union all select key, value from jsonb_each_text(excluded.${column})) s group by k order by n desc, k${keep ? ` limit ${keep}` : ''}) t)`,
  );

/** Devices kept per minute bucket: the busiest ones (a bucket of many devices would otherwise grow without bound). */
export const DEVICES_PER_BUCKET = 20;

/** Adds the counts of `rows` (one per minute bucket) to the stream's stored buckets. */
export async function addRollups(db: Database, streamId: string, rows: Rollup[]): Promise<void> {
  if (!rows.length) return;
  await db
    .insert(monitorRollups)
    .values(rows.map((row) => ({ ...row, streamId })))
    .onConflictDoUpdate({
      target: [monitorRollups.streamId, monitorRollups.bucket],
      set: {
        events: sql`${monitorRollups.events} + excluded.events`,
        classCounts: addArrays('class_counts'),
        lowConfidence: sql`${monitorRollups.lowConfidence} + excluded.low_confidence`,
        expectedCorrect: sql`${monitorRollups.expectedCorrect} + excluded.expected_correct`,
        confidenceHistogram: addArrays('confidence_histogram'),
        latencyHistogram: addArrays('latency_histogram'),
        backends: addCounts('backends'),
        appVersions: addCounts('app_versions'),
        devices: addCounts('devices', DEVICES_PER_BUCKET),
      },
    });
}

const inRange = (streamIds: string[], from: Date, to: Date) =>
  sql`stream_id in (${sql.join(
    streamIds.map((id) => sql`${id}::uuid`),
    sql`, `,
  )}) and bucket >= ${from.toISOString()}::timestamptz and bucket < ${to.toISOString()}::timestamptz`;

export interface RollupTotals {
  events: number;
  lowConfidence: number;
  expectedCorrect: number;
  /** Element-wise sums: class counts in label order, 20 confidence bins, the latency bins. */
  classCounts: number[];
  confidenceHistogram: number[];
  latencyHistogram: number[];
}

/** Per stream, the sums of its buckets in [from, to); streams without buckets there are absent. */
export async function totals(db: Database, input: { streamIds: string[]; from: Date; to: Date }): Promise<Map<string, RollupTotals>> {
  const out = new Map<string, RollupTotals>();
  if (!input.streamIds.length) return out;
  const where = inRange(input.streamIds, input.from, input.to);
  const scalars = await rowsOf<{ stream_id: string; events: string; low: string; expected: number }>(
    db,
    sql`select stream_id, sum(events) as events, sum(low_confidence) as low, sum(expected_correct)::float8 as expected from monitor_rollups where ${where} group by stream_id`,
  );
  for (const row of scalars) {
    out.set(row.stream_id, { events: Number(row.events), lowConfidence: Number(row.low), expectedCorrect: Number(row.expected), classCounts: [], confidenceHistogram: [], latencyHistogram: [] });
  }
  const arrays = await rowsOf<{ stream_id: string; kind: 'classCounts' | 'confidenceHistogram' | 'latencyHistogram'; i: string; n: string }>(
    db,
    sql`select stream_id, 'classCounts' as kind, i, sum(v) as n from monitor_rollups cross join lateral unnest(class_counts) with ordinality as u(v, i) where ${where} group by stream_id, i
        union all select stream_id, 'confidenceHistogram', i, sum(v) from monitor_rollups cross join lateral unnest(confidence_histogram) with ordinality as u(v, i) where ${where} group by stream_id, i
        union all select stream_id, 'latencyHistogram', i, sum(v) from monitor_rollups cross join lateral unnest(latency_histogram) with ordinality as u(v, i) where ${where} group by stream_id, i`,
  );
  for (const row of arrays) {
    const target = out.get(row.stream_id)![row.kind];
    const index = Number(row.i) - 1;
    while (target.length <= index) target.push(0);
    target[index] = Number(row.n);
  }
  return out;
}

/** Per stream over all its rollups: events and the sum of calibrated top-1 probabilities (one row per stream). */
export async function lifetimeTotals(db: Database, streamIds: string[]): Promise<Map<string, { events: number; expectedCorrect: number }>> {
  if (!streamIds.length) return new Map();
  const rows = await rowsOf<{ stream_id: string; events: string; expected: number }>(
    db,
    sql`select stream_id, sum(events) as events, sum(expected_correct)::float8 as expected from monitor_rollups where stream_id in (${sql.join(
      streamIds.map((id) => sql`${id}::uuid`),
      sql`, `,
    )}) group by stream_id`,
  );
  return new Map(rows.map((row) => [row.stream_id, { events: Number(row.events), expectedCorrect: Number(row.expected) }]));
}

export interface RollupShares {
  backends: Record<string, number>;
  appVersions: Record<string, number>;
  /** Only devices that were among a minute's busiest are counted (DEVICES_PER_BUCKET). */
  devices: Record<string, number>;
}

/** Events per backend, app version and device, summed over the streams' buckets in [from, to). */
export async function shares(db: Database, input: { streamIds: string[]; from: Date; to: Date }): Promise<RollupShares> {
  const out: RollupShares = { backends: {}, appVersions: {}, devices: {} };
  if (!input.streamIds.length) return out;
  const where = inRange(input.streamIds, input.from, input.to);
  const rows = await rowsOf<{ kind: keyof RollupShares; k: string; n: string }>(
    db,
    sql`select 'backends' as kind, key as k, sum(value::bigint) as n from monitor_rollups cross join lateral jsonb_each_text(backends) where ${where} group by key
        union all select 'appVersions', key, sum(value::bigint) from monitor_rollups cross join lateral jsonb_each_text(app_versions) where ${where} group by key
        union all select 'devices', key, sum(value::bigint) from monitor_rollups cross join lateral jsonb_each_text(devices) where ${where} group by key`,
  );
  for (const row of rows) out[row.kind][row.k] = Number(row.n);
  return out;
}
