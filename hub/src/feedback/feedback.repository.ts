/**
 * The predictions and corrections tables: what devices predicted and the labels people gave them. Both are
 * inserted idempotently on their device-made ids (ON CONFLICT DO NOTHING), so any batch may be sent again.
 */
import { DEFAULT_CHANNEL, type TopClasses, float32Bytes } from '@edgeloop/shared';
import { and, asc, desc, eq, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import { BinaryCopyWriter, copyBinaryInto } from '../db/copy-binary';
import type { Database } from '../db/database';
import { corrections, modelVersions, predictions, registeredModels } from '../db/schema';
import type { CheckedPrediction } from './prediction-check';

export type NewPrediction = typeof predictions.$inferInsert;
export type NewCorrection = Omit<typeof corrections.$inferInsert, 'receivedAt'>;

/**
 * Which of `ids` (uuids) are stored predictions (of any project). One array parameter, not a placeholder per id: the
 * statement is the same for every batch, and building 500 placeholders cost more than the lookup.
 */
export async function storedPredictionIds(db: Database, ids: string[]): Promise<{ id: string }[]> {
  return db.select({ id: predictions.id }).from(predictions).where(sql`${predictions.id} = any(${`{${ids.join(',')}}`}::uuid[])`);
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
  event: CheckedPrediction;
  modelVersionId: string;
}

/** Inserts rows built as stored (tests and benchmarks that lay out a stream directly); ids already stored are skipped. */
export async function insertPredictionRows(db: Database, rows: NewPrediction[]): Promise<{ id: string }[]> {
  if (!rows.length) return [];
  return db.insert(predictions).values(rows).onConflictDoNothing({ target: predictions.id }).returning({ id: predictions.id });
}

/** The columns a prediction is copied into, in the order predictionCopyRows writes them (received_at: its default, now()). */
const COPIED_COLUMNS = [
  'id', 'project_id', 'model_version_id', 'channel', 'label', 'confidence', 'top_k', 'embedding',
  'backend', 'latency_ms', 'source', 'sent_by', 'device_id', 'app_version', 'created_at',
] as const;

/**
 * Stores the predictions not stored yet (by id, in any project); returns the ids inserted now (an id twice in the
 * batch once). The usual batch is all new, and goes in ONE binary COPY, the cheapest way into PostgreSQL (no
 * statement to parse, embeddings as their bytes). A COPY cannot skip a row: when the batch holds an event already
 * stored (an outbox resending after a lost answer), it fails on the primary key as a whole, and the batch goes again
 * as one INSERT ... ON CONFLICT DO NOTHING.
 */
export async function insertPredictions(db: Database, owner: { projectId: string; sentBy: string }, rows: PredictionToStore[]): Promise<{ id: string }[]> {
  const byId = new Map<string, NewPrediction>();
  for (const row of rows) if (!byId.has(row.event.id)) byId.set(row.event.id, predictionRow(owner, row));
  const unique = [...byId.values()];
  if (!unique.length) return [];
  try {
    await copyBinaryInto(db, 'predictions', COPIED_COLUMNS, predictionCopyRows(unique));
    return unique.map(({ id }) => ({ id }));
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    return insertPredictionRows(db, unique);
  }
}

/** The event as a row to store. */
function predictionRow(owner: { projectId: string; sentBy: string }, { event, modelVersionId }: PredictionToStore): NewPrediction {
  return {
    id: event.id,
    projectId: owner.projectId,
    modelVersionId,
    channel: event.channel ?? DEFAULT_CHANNEL,
    label: event.top[0]!.label,
    confidence: event.top[0]!.probability,
    topK: event.top,
    embedding: float32Bytes(event.embedding),
    backend: event.backend,
    latencyMs: event.latencyMs,
    source: event.source,
    sentBy: owner.sentBy,
    deviceId: event.deviceId ?? null,
    appVersion: event.appVersion ?? null,
    // Milliseconds, as a JS Date holds them: page cursors are read back as Dates and must match the stored value.
    createdAt: new Date(event.createdAt),
  };
}

/** The rows in binary COPY form, in COPIED_COLUMNS' order. */
function predictionCopyRows(rows: NewPrediction[]): Buffer<ArrayBuffer> {
  // ~250 bytes of fields besides the embedding; the writer grows if a batch needs more.
  const writer = new BinaryCopyWriter(rows.length * (260 + (rows[0]?.embedding.byteLength ?? 0)));
  for (const row of rows) {
    writer
      .row(COPIED_COLUMNS.length)
      .uuid(row.id)
      .uuid(row.projectId)
      .uuid(row.modelVersionId)
      .text(row.channel ?? DEFAULT_CHANNEL)
      .text(row.label)
      .float8(row.confidence)
      .jsonb(JSON.stringify(row.topK))
      .bytes(row.embedding)
      .text(row.backend)
      .float8(row.latencyMs)
      .text(row.source)
      .text(row.sentBy)
      .text(row.deviceId ?? null)
      .text(row.appVersion ?? null)
      .timestamptz(row.createdAt.getTime());
  }
  return writer.finish();
}

/** PostgreSQL's unique_violation, as either driver reports it. */
const isUniqueViolation = (error: unknown) => typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';

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
  /** The latest label a person gave it (by the labeler's clock, then arrival), if any; null label with truthUnusable: "unusable". */
  truthLabel: string | null;
  truthUnusable: boolean | null;
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
  // Each page row's latest label, looked up per row (corrections_prediction), not the latest of every correction stored.
  const latest = db
    .select({ predictionId: corrections.predictionId, label: corrections.label, unusable: corrections.unusable, labeledBy: corrections.labeledBy, at: corrections.createdAt })
    .from(corrections)
    .where(eq(corrections.predictionId, predictions.id))
    .orderBy(desc(corrections.createdAt), desc(corrections.receivedAt))
    .limit(1)
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
      truthUnusable: latest.unusable,
      truthBy: latest.labeledBy,
      truthAt: latest.at,
    })
    .from(predictions)
    .innerJoin(modelVersions, eq(modelVersions.id, predictions.modelVersionId))
    .innerJoin(registeredModels, eq(registeredModels.id, modelVersions.modelId))
    .leftJoinLateral(latest, sql`true`)
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

/** How many labels people gave the project's predictions (received by the hub) after `since`: the pipeline's reviews trigger. */
export async function labelsReceivedSince(db: Database, projectId: string, since: Date): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(corrections)
    .innerJoin(predictions, eq(predictions.id, corrections.predictionId))
    .where(and(eq(predictions.projectId, projectId), sql`${corrections.receivedAt} > ${since.toISOString()}::timestamptz`));
  return row?.n ?? 0;
}
