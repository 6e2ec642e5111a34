/**
 * The predictions and corrections tables: what devices predicted and the labels people gave them. Both are
 * inserted idempotently on their device-made ids (ON CONFLICT DO NOTHING), so any batch may be sent again.
 */
import { DEFAULT_CHANNEL, type PredictionEvent, type TopClasses, embeddingToBytes } from '@edgeloop/shared';
import { type SQL, and, asc, desc, eq, getTableColumns, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import type { Database } from '../db/database';
import { corrections, modelVersions, predictions, registeredModels } from '../db/schema';

export type NewPrediction = typeof predictions.$inferInsert;
export type NewCorrection = Omit<typeof corrections.$inferInsert, 'receivedAt'>;

/** Which of `ids` are stored predictions (of any project). */
export async function storedPredictionIds(db: Database, ids: string[]): Promise<{ id: string }[]> {
  return db.select({ id: predictions.id }).from(predictions).where(inArray(predictions.id, ids));
}

/** Which of `ids` are stored corrections. */
export async function storedCorrectionIds(db: Database, ids: string[]): Promise<{ id: string }[]> {
  return db.select({ id: corrections.id }).from(corrections).where(inArray(corrections.id, ids));
}

/** Which of `ids` are predictions of the project. */
export async function predictionIdsInProject(db: Database, projectId: string, ids: string[]): Promise<string[]> {
  const rows = await db.select({ id: predictions.id }).from(predictions).where(and(eq(predictions.projectId, projectId), inArray(predictions.id, ids)));
  return rows.map((r) => r.id);
}

/** A checked prediction event and the model version it names, to be stored for one project and sender. */
export interface PredictionToStore {
  event: PredictionEvent;
  modelVersionId: string;
}

/** Inserts rows built as stored (tests and benchmarks that lay out a stream directly); ids already stored are skipped. */
export async function insertPredictionRows(db: Database, rows: NewPrediction[]): Promise<{ id: string }[]> {
  if (!rows.length) return [];
  return db.insert(predictions).values(rows).onConflictDoNothing({ target: predictions.id }).returning({ id: predictions.id });
}

/**
 * Inserts the predictions not stored yet (by id, in any project) with ONE statement whatever the batch size:
 * `INSERT ... SELECT FROM unnest(<one array per column>) ON CONFLICT (id) DO NOTHING RETURNING id`. A fixed 17
 * parameters, so the statement text is the same for every batch (prepared once per connection) and the server parses
 * arrays, not thousands of placeholders. Embeddings travel as one bytea of every event's float32 LE values end to end,
 * cut per row by [offset, length] (postgres-js sends a bytea[] parameter as the element type; one bytea it sends as
 * it is, on PGlite too). The other columns go as array literals built here (arrayLiteral), dates and jsonb as text
 * cast per row. Returns the ids inserted now; an id sent twice in the batch is inserted once.
 */
export async function insertPredictions(db: Database, owner: { projectId: string; sentBy: string }, rows: PredictionToStore[]): Promise<{ id: string }[]> {
  if (!rows.length) return [];
  const n = rows.length;
  const ids = new Array<string>(n);
  const versionIds = new Array<string>(n);
  const channels = new Array<string>(n);
  const labels = new Array<string>(n);
  const confidences = new Array<number>(n);
  const tops = new Array<string>(n);
  const offsets = new Array<number>(n);
  const lengths = new Array<number>(n);
  const backends = new Array<string>(n);
  const latencies = new Array<number>(n);
  const sources = new Array<string>(n);
  const deviceIds = new Array<string | null>(n);
  const appVersions = new Array<string | null>(n);
  const createdAts = new Array<string>(n);
  let floats = 0;
  for (const { event } of rows) floats += event.embedding.length;
  // Every embedding, one after the other: [sum of lengths] float32 values, little-endian (see embedding-bytes.ts).
  const all = new Float32Array(floats);
  let at = 0;
  rows.forEach(({ event, modelVersionId }, i) => {
    ids[i] = event.id;
    versionIds[i] = modelVersionId;
    channels[i] = event.channel ?? DEFAULT_CHANNEL;
    labels[i] = event.top[0]!.label;
    confidences[i] = event.top[0]!.probability;
    tops[i] = JSON.stringify(event.top);
    all.set(event.embedding, at);
    offsets[i] = at * 4 + 1; // substring() counts bytes from 1
    lengths[i] = event.embedding.length * 4;
    at += event.embedding.length;
    backends[i] = event.backend;
    latencies[i] = event.latencyMs;
    sources[i] = event.source;
    deviceIds[i] = event.deviceId ?? null;
    appVersions[i] = event.appVersion ?? null;
    // Milliseconds, as a JS Date holds them: page cursors are read back as Dates and must match the stored value.
    createdAts[i] = new Date(event.createdAt).toISOString();
  });
  const embeddings = embeddingToBytes(all);
  const p = (value: unknown) => sql.param(value);
  // The arrays go as PostgreSQL array literals built here: both drivers pass a string for an array parameter as it is,
  // and building them in one pass costs a third of what the drivers' per-element quoting did.
  const a = (values: readonly (string | number | null)[]) => p(arrayLiteral(values));
  // One expression per column (the type makes a new column a compile error here), selected in the table's order.
  const values: Record<keyof NewPrediction, SQL> = {
    id: sql`e.id`,
    projectId: sql`${p(owner.projectId)}::uuid`,
    modelVersionId: sql`e.model_version_id`,
    channel: sql`e.channel`,
    label: sql`e.label`,
    confidence: sql`e.confidence`,
    topK: sql`e.top_k::jsonb`,
    embedding: sql`substring(${p(embeddings)}::bytea from e.embedding_at for e.embedding_bytes)`,
    backend: sql`e.backend`,
    latencyMs: sql`e.latency_ms`,
    source: sql`e.source`,
    sentBy: sql`${p(owner.sentBy)}::text`,
    deviceId: sql`e.device_id`,
    appVersion: sql`e.app_version`,
    createdAt: sql`e.created_at::timestamptz`,
    receivedAt: sql`now()`,
  };
  const selected = sql.join(
    Object.keys(getTableColumns(predictions)).map((key) => values[key as keyof NewPrediction]),
    sql`, `,
  );
  return db
    .insert(predictions)
    .select(
      sql`select ${selected}
      from unnest(${a(ids)}::uuid[], ${a(versionIds)}::uuid[], ${a(channels)}::text[], ${a(labels)}::text[], ${a(confidences)}::float8[],
        ${a(tops)}::text[], ${a(offsets)}::int4[], ${a(lengths)}::int4[], ${a(backends)}::text[], ${a(latencies)}::float8[],
        ${a(sources)}::text[], ${a(deviceIds)}::text[], ${a(appVersions)}::text[], ${a(createdAts)}::text[])
        as e(id, model_version_id, channel, label, confidence, top_k, embedding_at, embedding_bytes, backend, latency_ms, source, device_id, app_version, created_at)`,
    )
    .onConflictDoNothing({ target: predictions.id })
    .returning({ id: predictions.id });
}

/**
 * A one-dimensional PostgreSQL array literal: numbers as they print, null as NULL, every string quoted (so "null" stays
 * a string) with double quotes and backslashes escaped.
 */
export function arrayLiteral(values: readonly (string | number | null)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    if (i > 0) out += ',';
    if (value === null) out += 'NULL';
    else if (typeof value === 'number') out += String(value);
    else out += `"${NEEDS_ESCAPE.test(value) ? value.replace(ESCAPED, '\\$&') : value}"`;
  }
  return `${out}}`;
}
const NEEDS_ESCAPE = /["\\]/;
const ESCAPED = /["\\]/g;

/** Inserts the corrections not stored yet; returns the ids inserted now. */
export async function insertCorrections(db: Database, rows: NewCorrection[]): Promise<{ id: string }[]> {
  if (!rows.length) return [];
  return db.insert(corrections).values(rows).onConflictDoNothing({ target: corrections.id }).returning({ id: corrections.id });
}

export interface PredictionWithTruth {
  id: string;
  model: string;
  version: number;
  label: string;
  confidence: number;
  top: TopClasses;
  backend: string;
  latencyMs: number;
  source: string;
  sentBy: string;
  createdAt: Date;
  /** The latest label a person gave it (by the labeler's clock, then arrival), if any. */
  truthLabel: string | null;
  truthBy: string | null;
  truthAt: Date | null;
}

/**
 * A page of the project's predictions, newest first on (createdAt, id), starting after `before`; `uncorrected`
 * keeps those nobody has labelled yet. Reads `limit` rows.
 */
export async function pageOfProject(
  db: Database,
  input: { projectId: string; uncorrected: boolean; before: { createdAt: Date; id: string } | null; limit: number },
): Promise<PredictionWithTruth[]> {
  const latest = db
    .selectDistinctOn([corrections.predictionId], { predictionId: corrections.predictionId, label: corrections.label, labeledBy: corrections.labeledBy, at: corrections.createdAt })
    .from(corrections)
    .orderBy(corrections.predictionId, desc(corrections.createdAt), desc(corrections.receivedAt))
    .as('latest');
  const before = input.before;
  return db
    .select({
      id: predictions.id,
      model: registeredModels.name,
      version: modelVersions.version,
      label: predictions.label,
      confidence: predictions.confidence,
      top: predictions.topK,
      backend: predictions.backend,
      latencyMs: predictions.latencyMs,
      source: predictions.source,
      sentBy: predictions.sentBy,
      createdAt: predictions.createdAt,
      truthLabel: latest.label,
      truthBy: latest.labeledBy,
      truthAt: latest.at,
    })
    .from(predictions)
    .innerJoin(modelVersions, eq(modelVersions.id, predictions.modelVersionId))
    .innerJoin(registeredModels, eq(registeredModels.id, modelVersions.modelId))
    .leftJoin(latest, eq(latest.predictionId, predictions.id))
    .where(
      and(
        eq(predictions.projectId, input.projectId),
        input.uncorrected ? isNull(latest.predictionId) : undefined,
        before ? or(lt(predictions.createdAt, before.createdAt), and(eq(predictions.createdAt, before.createdAt), lt(predictions.id, before.id))) : undefined,
      ),
    )
    .orderBy(desc(predictions.createdAt), desc(predictions.id))
    .limit(input.limit);
}

/**
 * Where a monitor stream has read up to: the last event's arrival time as PostgreSQL's own text (microseconds: a
 * JavaScript Date keeps milliseconds only, and a cursor rounded down would read events again) and its id.
 */
export interface StreamCursor {
  receivedAt: string;
  id: string;
}

/** A prediction as a monitor stream reads it. embedding: float32 little-endian bytes ([d]). */
export interface StreamEvent {
  id: string;
  label: string;
  confidence: number;
  embedding: Uint8Array;
  /** The installation (device id), or for devices older than the field the token that sent it. */
  deviceKey: string;
  appVersion: string | null;
  backend: string;
  latencyMs: number;
  /** Arrival as PostgreSQL's text (the cursor) and as a Date (rollup minute, points' time). */
  receivedAt: string;
  at: Date;
  /** When the device made it, by its clock. */
  createdAt: Date;
}

const afterCursor = (after: StreamCursor) => sql`(${predictions.receivedAt}, ${predictions.id}) > (${after.receivedAt}::timestamptz, ${after.id}::uuid)`;

/**
 * The stream's next events in arrival order (received_at, id) after `after`, received before `before` (null: the
 * database's now() - `holdBackSeconds`), at most `limit`. Reads through predictions_stream_cursor.
 */
export async function eventsAfter(
  db: Database,
  input: { modelVersionId: string; channel: string; after: StreamCursor | null; before: Date | null; holdBackSeconds: number; limit: number },
): Promise<StreamEvent[]> {
  return db
    .select({
      id: predictions.id,
      label: predictions.label,
      confidence: predictions.confidence,
      embedding: predictions.embedding,
      deviceKey: sql<string>`coalesce(${predictions.deviceId}, ${predictions.sentBy})`,
      appVersion: predictions.appVersion,
      backend: predictions.backend,
      latencyMs: predictions.latencyMs,
      receivedAt: sql<string>`${predictions.receivedAt}::text`,
      at: predictions.receivedAt,
      createdAt: predictions.createdAt,
    })
    .from(predictions)
    .where(
      and(
        eq(predictions.modelVersionId, input.modelVersionId),
        eq(predictions.channel, input.channel),
        input.after ? afterCursor(input.after) : undefined,
        input.before ? lt(predictions.receivedAt, input.before) : sql`${predictions.receivedAt} < now() - ${input.holdBackSeconds} * interval '1 second'`,
      ),
    )
    .orderBy(asc(predictions.receivedAt), asc(predictions.id))
    .limit(input.limit);
}

/** Whether the stream has any event after `after` (however recent). */
export async function hasEventsAfter(db: Database, input: { modelVersionId: string; channel: string; after: StreamCursor | null }): Promise<boolean> {
  const rows = await db
    .select({ id: predictions.id })
    .from(predictions)
    .where(and(eq(predictions.modelVersionId, input.modelVersionId), eq(predictions.channel, input.channel), input.after ? afterCursor(input.after) : undefined))
    .limit(1);
  return rows.length > 0;
}

/** Who sent the stream's last `limit` events up to and including `upTo`, newest first (contributors of an alert's window). */
export async function senderKeysUpTo(
  db: Database,
  input: { modelVersionId: string; channel: string; upTo: StreamCursor; limit: number },
): Promise<{ deviceKey: string; appVersion: string | null; backend: string }[]> {
  return db
    .select({ deviceKey: sql<string>`coalesce(${predictions.deviceId}, ${predictions.sentBy})`, appVersion: predictions.appVersion, backend: predictions.backend })
    .from(predictions)
    .where(
      and(
        eq(predictions.modelVersionId, input.modelVersionId),
        eq(predictions.channel, input.channel),
        sql`(${predictions.receivedAt}, ${predictions.id}) <= (${input.upTo.receivedAt}::timestamptz, ${input.upTo.id}::uuid)`,
      ),
    )
    .orderBy(desc(predictions.receivedAt), desc(predictions.id))
    .limit(input.limit);
}
