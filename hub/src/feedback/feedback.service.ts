/**
 * Feedback from devices: predictions and the labels people give them. Both are inserted idempotently on the
 * device-made id, so an outbox may resend any batch (after a lost response, a crash, a second tab) safely.
 */
import {
  type CorrectionEvent,
  type PredictionEvent,
  type RejectedEvent,
  type SyncCorrectionsInput,
  type SyncPredictionsInput,
  type SyncResult,
  correctionEventSchema,
  predictionEventSchema,
} from '@edgeloop/shared';
import { and, desc, eq, inArray, isNull, lt, or } from 'drizzle-orm';
import type { z } from 'zod';
import { corrections, modelVersions, predictions, registeredModels } from '../db/schema';
import type { Caller, HubDeps } from '../deps';
import { type Project, assertKnownLabel, getProject } from '../datasets/project.service';
import { HubError } from '../errors';

/**
 * Each event is checked on its own, so one bad event (a device bug, a label since removed) is rejected with its
 * reason and the others are stored: a batch is never refused as a whole, and an outbox never blocks on one event.
 */
export async function syncPredictions(deps: HubDeps, caller: Caller, input: SyncPredictionsInput): Promise<SyncResult> {
  const project = await getProject(deps, input.project);
  const { valid, rejected } = validateEach(input.predictions, predictionEventSchema);
  // Resolve each (model, version) the batch names to its model version id, once.
  const versionIds = new Map<string, string>();
  const names = [...new Set(valid.map(({ event }) => event.model))];
  const rows = names.length
    ? await deps.db
        .select({ id: modelVersions.id, model: registeredModels.name, version: modelVersions.version })
        .from(modelVersions)
        .innerJoin(registeredModels, eq(registeredModels.id, modelVersions.modelId))
        .where(and(eq(registeredModels.projectId, project.id), inArray(registeredModels.name, names)))
    : [];
  for (const row of rows) versionIds.set(`${row.model}@${row.version}`, row.id);

  const values = valid.flatMap(({ event: p, index }) => {
    const modelVersionId = versionIds.get(`${p.model}@${p.version}`);
    const reason = !modelVersionId ? `version: model "${p.model}" of "${project.slug}" has no version ${p.version}` : unknownLabel(project, p.top.map((t, k) => [t.label, `top.${k}.label`]));
    if (reason) {
      rejected.push({ id: p.id, index, reason });
      return [];
    }
    return [
      {
        id: p.id,
        projectId: project.id,
        modelVersionId: modelVersionId!,
        label: p.top[0]!.label,
        confidence: p.top[0]!.probability,
        topK: p.top,
        embedding: p.embedding,
        backend: p.backend,
        latencyMs: p.latencyMs,
        source: p.source,
        sentBy: caller.name,
        createdAt: new Date(p.createdAt),
      },
    ];
  });
  const inserted = values.length ? await deps.db.insert(predictions).values(values).onConflictDoNothing({ target: predictions.id }).returning({ id: predictions.id }) : [];
  return result(input.predictions.length, values.length, inserted.length, rejected);
}

export async function syncCorrections(deps: HubDeps, caller: Caller, input: SyncCorrectionsInput): Promise<SyncResult> {
  const project = await getProject(deps, input.project);
  const { valid, rejected } = validateEach(input.corrections, correctionEventSchema);
  const ids = [...new Set(valid.map(({ event }) => event.predictionId))];
  const known = new Set(
    ids.length
      ? (await deps.db.select({ id: predictions.id }).from(predictions).where(and(eq(predictions.projectId, project.id), inArray(predictions.id, ids)))).map((r) => r.id)
      : [],
  );
  const values = valid.flatMap(({ event: c, index }) => {
    const reason = !known.has(c.predictionId)
      ? `predictionId: "${project.slug}" has no prediction ${c.predictionId}; sync the prediction first`
      : unknownLabel(project, [[c.label, 'label']]);
    if (reason) {
      rejected.push({ id: c.id, index, reason });
      return [];
    }
    return [{ id: c.id, predictionId: c.predictionId, label: c.label, labeledBy: caller.name, createdAt: new Date(c.createdAt) }];
  });
  const inserted = values.length ? await deps.db.insert(corrections).values(values).onConflictDoNothing({ target: corrections.id }).returning({ id: corrections.id }) : [];
  return result(input.corrections.length, values.length, inserted.length, rejected);
}

function validateEach<S extends z.ZodType<PredictionEvent> | z.ZodType<CorrectionEvent>>(events: unknown[], schema: S) {
  const valid: { event: z.output<S>; index: number }[] = [];
  const rejected: RejectedEvent[] = [];
  events.forEach((event, index) => {
    const parsed = schema.safeParse(event);
    if (parsed.success) valid.push({ event: parsed.data as z.output<S>, index });
    else rejected.push({ id: idOf(event), index, reason: parsed.error.issues.map((i) => `${i.path.join('.') || 'event'}: ${i.message}`).join('; ') });
  });
  return { valid, rejected };
}

/** The event's own id, when it has a valid one: the outbox sets the event aside by it. */
function idOf(event: unknown): string | null {
  const id = event && typeof event === 'object' ? (event as { id?: unknown }).id : undefined;
  return typeof id === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id) ? id : null;
}

/** Why the first label that is not the project's is refused (assertKnownLabel's words), or null when all are known. */
function unknownLabel(project: Project, labels: [label: string, field: string][]): string | null {
  try {
    for (const [label, field] of labels) assertKnownLabel(project, label, field);
    return null;
  } catch (error) {
    if (error instanceof HubError) return error.message;
    throw error;
  }
}

function result(received: number, stored: number, inserted: number, rejected: RejectedEvent[]): SyncResult {
  return { received, inserted, duplicates: stored - inserted, rejected: rejected.sort((a, b) => a.index - b.index) };
}

export interface PredictionSummary {
  id: string;
  model: string;
  version: number;
  label: string;
  confidence: number;
  top: { label: string; probability: number }[];
  backend: string;
  latencyMs: number;
  source: string;
  sentBy: string;
  createdAt: string;
  /** The latest label a person gave it, if any. */
  groundTruth: { label: string; labeledBy: string; at: string } | null;
}

/** Where a page of predictions ends: the next page starts after this one (newest first). */
export interface PredictionCursor {
  createdAt: string;
  id: string;
}

/**
 * Newest first, paged on (createdAt, id): many predictions can share a device timestamp, and none is skipped or
 * repeated across pages. `uncorrected` keeps those nobody has labelled yet (the labeling queue). `next` is the
 * cursor to pass as `before` for the following page, null on the last page.
 */
export async function listPredictions(
  deps: HubDeps,
  input: { project: string; uncorrected?: boolean; before?: PredictionCursor; limit: number },
): Promise<{ predictions: PredictionSummary[]; next: PredictionCursor | null }> {
  const project = await getProject(deps, input.project);
  const latest = deps.db
    .selectDistinctOn([corrections.predictionId], { predictionId: corrections.predictionId, label: corrections.label, labeledBy: corrections.labeledBy, at: corrections.createdAt })
    .from(corrections)
    .orderBy(corrections.predictionId, desc(corrections.createdAt), desc(corrections.receivedAt))
    .as('latest');
  const before = input.before ? { createdAt: new Date(input.before.createdAt), id: input.before.id } : null;
  const rows = await deps.db
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
        eq(predictions.projectId, project.id),
        input.uncorrected ? isNull(latest.predictionId) : undefined,
        before ? or(lt(predictions.createdAt, before.createdAt), and(eq(predictions.createdAt, before.createdAt), lt(predictions.id, before.id))) : undefined,
      ),
    )
    .orderBy(desc(predictions.createdAt), desc(predictions.id))
    .limit(input.limit + 1);
  const page = rows.slice(0, input.limit);
  const last = page[page.length - 1];
  return {
    predictions: page.map((r) => ({
      id: r.id,
      model: r.model,
      version: r.version,
      label: r.label,
      confidence: r.confidence,
      top: r.top,
      backend: r.backend,
      latencyMs: r.latencyMs,
      source: r.source,
      sentBy: r.sentBy,
      createdAt: r.createdAt.toISOString(),
      groundTruth: r.truthLabel && r.truthBy && r.truthAt ? { label: r.truthLabel, labeledBy: r.truthBy, at: r.truthAt.toISOString() } : null,
    })),
    next: rows.length > input.limit && last ? { createdAt: last.createdAt.toISOString(), id: last.id } : null,
  };
}
