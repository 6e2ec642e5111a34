/**
 * Feedback from devices: predictions and the labels people give them. Both are inserted idempotently on the
 * device-made id, so an outbox may resend any batch (after a lost response, a crash, a second tab) safely.
 */
import type { SyncCorrectionsInput, SyncPredictionsInput, SyncResult } from '@edgeloop/shared';
import { and, desc, eq, inArray, isNull, lt } from 'drizzle-orm';
import { corrections, modelVersions, predictions, registeredModels } from '../db/schema';
import type { Caller, HubDeps } from '../deps';
import { assertKnownLabel, getProject } from '../datasets/project.service';
import { badRequest } from '../errors';

export async function syncPredictions(deps: HubDeps, caller: Caller, input: SyncPredictionsInput): Promise<SyncResult> {
  const project = await getProject(deps, input.project);
  if (input.predictions.length === 0) return { received: 0, inserted: 0, duplicates: 0 };
  // Resolve each (model, version) the batch names to its model version id, once.
  const versionIds = new Map<string, string>();
  const names = [...new Set(input.predictions.map((p) => p.model))];
  const rows = await deps.db
    .select({ id: modelVersions.id, model: registeredModels.name, version: modelVersions.version })
    .from(modelVersions)
    .innerJoin(registeredModels, eq(registeredModels.id, modelVersions.modelId))
    .where(and(eq(registeredModels.projectId, project.id), inArray(registeredModels.name, names)));
  for (const row of rows) versionIds.set(`${row.model}@${row.version}`, row.id);

  const values = input.predictions.map((p, i) => {
    const modelVersionId = versionIds.get(`${p.model}@${p.version}`);
    if (!modelVersionId) throw badRequest(`predictions.${i}.version: model "${p.model}" of "${project.slug}" has no version ${p.version}`);
    p.top.forEach((t, k) => assertKnownLabel(project, t.label, `predictions.${i}.top.${k}.label`));
    return {
      id: p.id,
      projectId: project.id,
      modelVersionId,
      label: p.top[0]!.label,
      confidence: p.top[0]!.probability,
      topK: p.top,
      embedding: p.embedding,
      backend: p.backend,
      latencyMs: p.latencyMs,
      source: p.source,
      sentBy: caller.name,
      createdAt: new Date(p.createdAt),
    };
  });
  const inserted = await deps.db.insert(predictions).values(values).onConflictDoNothing({ target: predictions.id }).returning({ id: predictions.id });
  return { received: values.length, inserted: inserted.length, duplicates: values.length - inserted.length };
}

export async function syncCorrections(deps: HubDeps, caller: Caller, input: SyncCorrectionsInput): Promise<SyncResult> {
  const project = await getProject(deps, input.project);
  if (input.corrections.length === 0) return { received: 0, inserted: 0, duplicates: 0 };
  const ids = [...new Set(input.corrections.map((c) => c.predictionId))];
  const known = new Set(
    (await deps.db.select({ id: predictions.id }).from(predictions).where(and(eq(predictions.projectId, project.id), inArray(predictions.id, ids)))).map((r) => r.id),
  );
  const values = input.corrections.map((c, i) => {
    if (!known.has(c.predictionId)) throw badRequest(`corrections.${i}.predictionId: "${project.slug}" has no prediction ${c.predictionId}; sync the prediction first`);
    assertKnownLabel(project, c.label, `corrections.${i}.label`);
    return { id: c.id, predictionId: c.predictionId, label: c.label, labeledBy: caller.name, createdAt: new Date(c.createdAt) };
  });
  const inserted = await deps.db.insert(corrections).values(values).onConflictDoNothing({ target: corrections.id }).returning({ id: corrections.id });
  return { received: values.length, inserted: inserted.length, duplicates: values.length - inserted.length };
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

/** Newest first; `uncorrected` keeps those nobody has labelled yet (the labeling queue). */
export async function listPredictions(
  deps: HubDeps,
  input: { project: string; uncorrected?: boolean; before?: string; limit: number },
): Promise<PredictionSummary[]> {
  const project = await getProject(deps, input.project);
  const latest = deps.db
    .selectDistinctOn([corrections.predictionId], { predictionId: corrections.predictionId, label: corrections.label, labeledBy: corrections.labeledBy, at: corrections.createdAt })
    .from(corrections)
    .orderBy(corrections.predictionId, desc(corrections.createdAt), desc(corrections.receivedAt))
    .as('latest');
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
        input.before ? lt(predictions.createdAt, new Date(input.before)) : undefined,
      ),
    )
    .orderBy(desc(predictions.createdAt), desc(predictions.id))
    .limit(input.limit);
  return rows.map((r) => ({
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
  }));
}
