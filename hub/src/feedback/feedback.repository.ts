/**
 * The predictions and corrections tables: what devices predicted and the labels people gave them. Both are
 * inserted idempotently on their device-made ids (ON CONFLICT DO NOTHING), so any batch may be sent again.
 */
import { type PredictionEvent, type TopClasses, embeddingToBytes } from '@edgeloop/shared';
import { and, desc, eq, inArray, isNull, lt, or } from 'drizzle-orm';
import type { Database } from '../db/database';
import { corrections, modelVersions, predictions, registeredModels } from '../db/schema';

export type NewPrediction = typeof predictions.$inferInsert;
export type NewCorrection = Omit<typeof corrections.$inferInsert, 'receivedAt'>;

/** The row a checked prediction event is stored as: top-1 label and confidence beside the list the device sent. */
export function predictionRow(event: PredictionEvent, owner: { projectId: string; modelVersionId: string; sentBy: string }): NewPrediction {
  return {
    id: event.id,
    ...owner,
    label: event.top[0]!.label,
    confidence: event.top[0]!.probability,
    topK: event.top,
    embedding: embeddingToBytes(event.embedding),
    backend: event.backend,
    latencyMs: event.latencyMs,
    source: event.source,
    ...(event.channel ? { channel: event.channel } : {}),
    deviceId: event.deviceId ?? null,
    appVersion: event.appVersion ?? null,
    createdAt: new Date(event.createdAt),
  };
}

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

/** Inserts the predictions not stored yet; returns the ids inserted now. */
export async function insertPredictions(db: Database, rows: NewPrediction[]): Promise<{ id: string }[]> {
  if (!rows.length) return [];
  return db.insert(predictions).values(rows).onConflictDoNothing({ target: predictions.id }).returning({ id: predictions.id });
}

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
