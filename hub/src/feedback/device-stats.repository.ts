/**
 * Read-only aggregation of the predictions table per device (the installation id the PWA keeps): what the admin's
 * "Devices seen" shows. Everything is computed in SQL over one project's predictions in a time window (the
 * predictions_project_created index), in three passes over the window: the page of devices, their details, the
 * window's backends and latency.
 */
import { LATENCY_BINS, latencyBinEdges } from '@edgeloop/shared';
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
 * The shared latency bin of a prediction (shared/monitor-alerts latencyBin), in SQL: width_bucket over the bins' lower
 * edges from bin 1 on gives 0 below 1 ms and bin i from edge i up, the last bin open-ended. Floating-point comparisons
 * only (a numeric log per row cost seconds over 70,000 rows). The edges are inline, not a parameter: GROUP BY must see
 * the same expression as the select list.
 */
const latencyBinSql = sql<number>`width_bucket(${predictions.latencyMs}, ${sql.raw(`'{${latencyBinEdges().slice(1).join(',')}}'::float8[]`)})`;

const inWindow = (w: DeviceWindow): SQL =>
  and(eq(predictions.projectId, w.projectId), gte(predictions.createdAt, w.from), lt(predictions.createdAt, w.to), w.backend === undefined ? undefined : eq(predictions.backend, w.backend))!;

/**
 * When the window holds more than `n` predictions: the creation time of its n-th latest (newest first, along the
 * predictions_project_created index), from which on the latest n lie; null when it holds n or fewer.
 */
export async function startOfLatest(db: Database, w: DeviceWindow, n: number): Promise<Date | null> {
  const [row] = await db
    .select({ at: predictions.createdAt })
    .from(predictions)
    .where(inWindow(w))
    .orderBy(desc(predictions.createdAt))
    .limit(1)
    .offset(n - 1);
  return row?.at ?? null;
}

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
  /** Latency counts per shared bin [LATENCY_BINS]. */
  histogram: number[];
}

const p50 = sql<number | null>`percentile_cont(0.5) within group (order by ${predictions.latencyMs})`;
const p95 = sql<number | null>`percentile_cont(0.95) within group (order by ${predictions.latencyMs})`;
const num = (x: number | string | null): number | null => (x === null ? null : Number(x));

/**
 * One page of devices, the most recently seen first, and how many devices the window holds. The page is chosen with
 * cheap aggregates (a hash over the device key); the costly ones (quantiles, the latest app version) and the lists
 * then come from one grouping-sets pass over the page's devices only.
 */
export async function devicePage(db: Database, w: DeviceWindow, page: { limit: number; offset: number }): Promise<{ rows: DeviceRow[]; total: number }> {
  const lastSeen = sql<Date>`max(${predictions.createdAt})`.mapWith(predictions.createdAt);
  const chosen = await db
    .select({ key: deviceKey, lastSeen, predictions: count(), total: sql<number>`count(*) over ()`.mapWith(Number) })
    .from(predictions)
    .where(inWindow(w))
    .groupBy(deviceKey)
    .orderBy(desc(lastSeen), deviceKey)
    .limit(page.limit)
    .offset(page.offset);
  // Past the last page no row carries the total: count the devices by themselves.
  const total = chosen[0]?.total ?? (page.offset === 0 ? 0 : await countDevices(db, w));
  if (chosen.length === 0) return { rows: [], total };
  // Per device (whole = 1): its quantiles and latest app version; per (device, backend, token, version, bin): a count.
  const details = await db
    .select({
      key: deviceKey,
      whole: sql<number>`grouping(${predictions.backend})`.mapWith(Number),
      backend: predictions.backend,
      sentBy: predictions.sentBy,
      modelVersionId: predictions.modelVersionId,
      bin: latencyBinSql,
      n: count(),
      p50Ms: p50,
      p95Ms: p95,
      appVersion: sql<string | null>`(array_agg(${predictions.appVersion} order by ${predictions.createdAt} desc) filter (where ${predictions.appVersion} is not null))[1]`,
    })
    .from(predictions)
    .where(and(inWindow(w), sql`${deviceKey} in (${sql.join(chosen.map((c) => sql`${c.key}`), sql`, `)})`))
    .groupBy(sql`grouping sets ((${deviceKey}), (${deviceKey}, ${predictions.backend}, ${predictions.sentBy}, ${predictions.modelVersionId}, ${latencyBinSql}))`);
  const rows = chosen.map((c) => {
    const mine = details.filter((d) => d.key === c.key);
    const whole = mine.find((d) => d.whole === 1)!;
    const parts = mine.filter((d) => d.whole === 0);
    const distinct = (pick: (d: (typeof parts)[number]) => string) => [...new Set(parts.map(pick))].sort();
    const histogram = new Array<number>(LATENCY_BINS).fill(0);
    for (const part of parts) histogram[Number(part.bin)]! += part.n;
    return {
      key: c.key,
      lastSeen: c.lastSeen,
      predictions: c.predictions,
      p50Ms: num(whole.p50Ms)!,
      p95Ms: num(whole.p95Ms)!,
      appVersion: whole.appVersion,
      backends: distinct((d) => d.backend),
      sentBy: distinct((d) => d.sentBy),
      modelVersionIds: distinct((d) => d.modelVersionId),
      histogram,
    };
  });
  return { rows, total };
}

async function countDevices(db: Database, w: DeviceWindow): Promise<number> {
  const devices = db.select({ key: deviceKey }).from(predictions).where(inWindow(w)).groupBy(deviceKey).as('devices');
  const [row] = await db.select({ n: count() }).from(devices);
  return row!.n;
}

export interface WindowLatency {
  /** The window's backends (whatever the filter) with their prediction counts, most used first. */
  backends: { backend: string; predictions: number }[];
  /** The filtered predictions: how many, their latency quantiles and bins. */
  predictions: number;
  p50Ms: number | null;
  p95Ms: number | null;
  histogram: number[];
}

/** The window's backends, and the latency of its predictions (those of `w.backend` when given), in one pass. */
export async function windowLatency(db: Database, w: DeviceWindow): Promise<WindowLatency> {
  const chosen = w.backend === undefined ? sql`true` : sql`${predictions.backend} = ${w.backend}`;
  // Rows per (backend, bin), and one whole-window row (whole = 1) with the filtered quantiles.
  const rows = await db
    .select({
      whole: sql<number>`grouping(${predictions.backend})`.mapWith(Number),
      backend: predictions.backend,
      bin: latencyBinSql,
      n: count(),
      p50Ms: sql<number | null>`percentile_cont(0.5) within group (order by ${predictions.latencyMs}) filter (where ${chosen})`,
      p95Ms: sql<number | null>`percentile_cont(0.95) within group (order by ${predictions.latencyMs}) filter (where ${chosen})`,
    })
    .from(predictions)
    .where(inWindow({ ...w, backend: undefined }))
    .groupBy(sql`grouping sets ((${predictions.backend}, ${latencyBinSql}), ())`);
  const perBackend = new Map<string, number>();
  const histogram = new Array<number>(LATENCY_BINS).fill(0);
  let whole: (typeof rows)[number] | undefined;
  for (const row of rows) {
    if (row.whole === 1) {
      whole = row;
      continue;
    }
    perBackend.set(row.backend, (perBackend.get(row.backend) ?? 0) + row.n);
    if (w.backend === undefined || row.backend === w.backend) histogram[Number(row.bin)]! += row.n;
  }
  const backends = [...perBackend].map(([backend, predictions]) => ({ backend, predictions })).sort((a, b) => b.predictions - a.predictions || a.backend.localeCompare(b.backend));
  return {
    backends,
    predictions: histogram.reduce((a, b) => a + b, 0),
    p50Ms: num(whole?.p50Ms ?? null),
    p95Ms: num(whole?.p95Ms ?? null),
    histogram,
  };
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
