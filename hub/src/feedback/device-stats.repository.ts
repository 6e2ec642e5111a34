/**
 * Read-only aggregation of the predictions table per device (the installation id the PWA keeps): what the admin's
 * "Devices seen" shows. Everything is computed in SQL over one project's predictions in a time window (the
 * predictions_project_created index), so a page costs the same with 70,000 predictions as with 70.
 */
import { LATENCY_BINS } from '@edgeloop/shared';
import { type SQL, and, count, desc, eq, gte, lt, sql } from 'drizzle-orm';
import type { Database } from '../db/database';
import { modelVersions, predictions, registeredModels } from '../db/schema';

export interface DeviceWindow {
  projectId: string;
  from: Date;
  to: Date;
  /** Only predictions made with this backend (webgpu, webgl, wasm, cpu...); all when absent. */
  backend?: string;
}

/** Predictions from devices older than the device id field have none: they are counted together under ''. */
const deviceKey = sql<string>`coalesce(${predictions.deviceId}, '')`;

/**
 * The shared latency bin of a prediction (shared/monitor-alerts latencyBin, in SQL): 0 below 1 ms, then two per doubling.
 * The constant is inline, not a parameter: GROUP BY must see the same expression as the select list.
 */
const latencyBinSql = sql<number>`(case when ${predictions.latencyMs} < 1 or ${predictions.latencyMs} is null then 0
  else least(${sql.raw(String(LATENCY_BINS - 1))}, 1 + floor(2 * log(2, ${predictions.latencyMs}::numeric)))::int end)`;

const inWindow = (w: DeviceWindow): SQL =>
  and(eq(predictions.projectId, w.projectId), gte(predictions.createdAt, w.from), lt(predictions.createdAt, w.to), w.backend === undefined ? undefined : eq(predictions.backend, w.backend))!;

export interface DeviceRow {
  /** '' for predictions without a device id. */
  key: string;
  lastSeen: Date;
  predictions: number;
  p50Ms: number;
  p95Ms: number;
  backends: string[];
  /** The token names that sent its predictions. */
  sentBy: string[];
  modelVersionIds: string[];
  /** The app version of its latest prediction that named one. */
  appVersion: string | null;
}

/** One page of devices, the most recently seen first, and how many devices the window holds. */
export async function devicePage(db: Database, w: DeviceWindow, page: { limit: number; offset: number }): Promise<{ rows: DeviceRow[]; total: number }> {
  const lastSeen = sql<Date>`max(${predictions.createdAt})`.mapWith(predictions.createdAt);
  const rows = await db
    .select({
      key: deviceKey,
      lastSeen,
      predictions: count(),
      p50Ms: sql<number>`percentile_cont(0.5) within group (order by ${predictions.latencyMs})`.mapWith(Number),
      p95Ms: sql<number>`percentile_cont(0.95) within group (order by ${predictions.latencyMs})`.mapWith(Number),
      backends: sql<string[]>`array_agg(distinct ${predictions.backend} order by ${predictions.backend})::text[]`,
      sentBy: sql<string[]>`array_agg(distinct ${predictions.sentBy} order by ${predictions.sentBy})::text[]`,
      modelVersionIds: sql<string[]>`array_agg(distinct ${predictions.modelVersionId}::text)::text[]`,
      appVersion: sql<string | null>`(array_agg(${predictions.appVersion} order by ${predictions.createdAt} desc) filter (where ${predictions.appVersion} is not null))[1]`,
    })
    .from(predictions)
    .where(inWindow(w))
    .groupBy(deviceKey)
    .orderBy(desc(lastSeen), deviceKey)
    .limit(page.limit)
    .offset(page.offset);
  const [counted] = await db.select({ n: sql<number>`count(distinct ${deviceKey})`.mapWith(Number) }).from(predictions).where(inWindow(w));
  return { rows, total: counted!.n };
}

/** Latency counts per shared bin ([LATENCY_BINS] each) of the given devices (keys as devicePage gives them). */
export async function latencyHistograms(db: Database, w: DeviceWindow, keys: string[]): Promise<Map<string, number[]>> {
  const out = new Map(keys.map((k) => [k, new Array<number>(LATENCY_BINS).fill(0)]));
  if (keys.length === 0) return out;
  const rows = await db
    .select({ key: deviceKey, bin: latencyBinSql.mapWith(Number), n: count() })
    .from(predictions)
    .where(and(inWindow(w), sql`${deviceKey} in (${sql.join(keys.map((k) => sql`${k}`), sql`, `)})`))
    .groupBy(deviceKey, latencyBinSql);
  for (const row of rows) out.get(row.key)![row.bin] = row.n;
  return out;
}

/** The whole window's predictions: how many, their latency quantiles and bins. */
export async function windowLatency(db: Database, w: DeviceWindow): Promise<{ predictions: number; p50Ms: number | null; p95Ms: number | null; histogram: number[] }> {
  const [totals] = await db
    .select({
      predictions: count(),
      p50Ms: sql<number | null>`percentile_cont(0.5) within group (order by ${predictions.latencyMs})`,
      p95Ms: sql<number | null>`percentile_cont(0.95) within group (order by ${predictions.latencyMs})`,
    })
    .from(predictions)
    .where(inWindow(w));
  const bins = await db
    .select({ bin: latencyBinSql.mapWith(Number), n: count() })
    .from(predictions)
    .where(inWindow(w))
    .groupBy(latencyBinSql);
  const histogram = new Array<number>(LATENCY_BINS).fill(0);
  for (const row of bins) histogram[row.bin] = row.n;
  const num = (x: number | null) => (x === null ? null : Number(x));
  return { predictions: totals!.predictions, p50Ms: num(totals!.p50Ms), p95Ms: num(totals!.p95Ms), histogram };
}

/** The backends the window's predictions used (the filter's choices, whatever the filter is), most used first. */
export async function backendsInWindow(db: Database, w: Omit<DeviceWindow, 'backend'>): Promise<{ backend: string; predictions: number }[]> {
  return db
    .select({ backend: predictions.backend, predictions: count() })
    .from(predictions)
    .where(inWindow(w))
    .groupBy(predictions.backend)
    .orderBy(desc(count()), predictions.backend);
}

/** Model name and version number of each version id. */
export async function versionNames(db: Database, ids: string[]): Promise<Map<string, { model: string; version: number }>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .select({ id: modelVersions.id, model: registeredModels.name, version: modelVersions.version })
    .from(modelVersions)
    .innerJoin(registeredModels, eq(registeredModels.id, modelVersions.modelId))
    .where(sql`${modelVersions.id} = any(${`{${ids.join(',')}}`}::uuid[])`);
  return new Map(rows.map((r) => [r.id, { model: r.model, version: r.version }]));
}
