/**
 * Feedback from devices: predictions and the labels people give them. Both are inserted idempotently on the
 * device-made id, so an outbox may resend any batch (after a lost response, a crash, a second tab) safely.
 */
import {
  type RejectedEvent,
  type SyncCorrectionsInput,
  type SyncPredictionsInput,
  type SyncResult,
  correctionEventSchema,
  formatIssues,
  verdictOf,
} from '@edgeloop/shared';
import { z } from 'zod';
import type { Caller, HubDeps } from '../deps';
import { countSyncEvents } from '../metrics';
import { getProject, labelProblem } from '../projects/project.service';
import { requestMonitorUpdates } from '../monitoring/monitor-request';
import * as models from '../registry/model-version.repository';
import * as feedback from './feedback.repository';
import * as reviewAssignments from './review-assignment.repository';
import { checkPrediction } from './prediction-check';
import { votesFromCorrections } from './review-item.service';

/**
 * Each event is checked on its own, so one bad event (a device bug, a label since removed) is rejected with its
 * reason and the others are stored: a batch is never refused as a whole, and an outbox never blocks on one event.
 * An event already stored is a duplicate before the project's rules are checked: its label or model version may have
 * been removed since it was stored, and a resent copy must still read as delivered. (A malformed event is rejected
 * whatever is stored: it cannot be the copy of a stored one.) The accepted events go in one idempotent statement,
 * and only events the project's rules refuse are looked up among the stored ones, so the usual batch costs two
 * queries: its model versions, and the insert.
 */
export async function syncPredictions(deps: HubDeps, caller: Caller, input: SyncPredictionsInput): Promise<SyncResult> {
  // The project is looked up while the events are checked (a 500-event batch takes milliseconds of CPU).
  const projectLookup = getProject(deps, input.project);
  const { valid, rejected } = validateEach(input.predictions, checkPrediction);
  const project = await projectLookup;
  // Resolve each (model, version) the batch names to its model version id, once.
  const versionIds = new Map<string, string>();
  const names = [...new Set(valid.map(({ event }) => event.model))];
  const rows = names.length ? await models.versionIdsOf(deps.db, project.id, names) : [];
  for (const row of rows) versionIds.set(`${row.model}@${row.version}`, row.id);

  const refused: RejectedEvent[] = [];
  const accepted: feedback.PredictionToStore[] = [];
  for (const { event: p, index } of valid) {
    const modelVersionId = versionIds.get(`${p.model}@${p.version}`);
    let reason = modelVersionId ? null : `version: model "${p.model}" of "${project.slug}" has no version ${p.version}`;
    for (let k = 0; k < p.top.length && !reason; k++) reason = labelProblem(project, p.top[k]!.label, `top.${k}.label`);
    if (reason) refused.push({ id: p.id, index, reason });
    else accepted.push({ event: p, modelVersionId: modelVersionId! });
  }
  const inserted = await feedback.insertPredictions(deps.db, { projectId: project.id, sentBy: caller.name }, accepted);
  rejected.push(...(await withoutStored(refused, (ids) => feedback.storedPredictionIds(deps.db, ids))));
  // Monitoring runs off the request path: one debounced job per stream the new events belong to, asked for meanwhile.
  requestMonitorUpdates(deps, project.id, accepted.map((a) => ({ id: a.event.id, modelVersionId: a.modelVersionId, channel: a.event.channel })), inserted);
  return counted('prediction', result(input.predictions.length, inserted.length, rejected));
}

export async function syncCorrections(deps: HubDeps, caller: Caller, input: SyncCorrectionsInput): Promise<SyncResult> {
  const project = await getProject(deps, input.project);
  const { valid: checked, rejected } = validateEach(input.corrections, (raw) => checkedBy(correctionEventSchema, raw));
  const valid = await withoutStored(checked, (ids) => feedback.storedCorrectionIds(deps.db, ids));
  const ids = [...new Set(valid.map(({ event }) => event.predictionId))];
  const known = new Set(ids.length ? await feedback.predictionIdsInProject(deps.db, project.id, ids) : []);
  // The review assignment a label answers must be one of this project's, made for that prediction.
  const assignmentIds = [...new Set(valid.flatMap(({ event }) => (event.assignmentId ? [event.assignmentId] : [])))];
  const assigned = new Map((await reviewAssignments.predictionsOfAssignments(deps.db, project.id, assignmentIds)).map((a) => [a.id, a.predictionId]));
  const values = valid.flatMap(({ event: c, index }) => {
    const reason = !known.has(c.predictionId)
      ? `predictionId: "${project.slug}" has no prediction ${c.predictionId}; sync the prediction first`
      : c.assignmentId && assigned.get(c.assignmentId) !== c.predictionId
        ? `assignmentId: "${project.slug}" has no review assignment ${c.assignmentId} for prediction ${c.predictionId}`
        : c.label === undefined
          ? null
          : labelProblem(project, c.label, 'label');
    if (reason) {
      rejected.push({ id: c.id, index, reason });
      return [];
    }
    return [{ id: c.id, predictionId: c.predictionId, label: verdictOf(c), unusable: c.unusable === true, labeledBy: caller.name, assignmentId: c.assignmentId ?? null, createdAt: new Date(c.createdAt) }];
  });
  // A label and the assignment it answers change together: the assignment reads labeled only once its label is stored.
  const inserted = await deps.db.transaction(async (tx) => {
    const rows = await feedback.insertCorrections(tx, values);
    const now = new Set(rows.map((row) => row.id));
    const answered = values.flatMap((v) => (now.has(v.id) && v.assignmentId ? [v.assignmentId] : []));
    await reviewAssignments.markLabeled(tx, answered, deps.now());
    // A label for a prediction whose image waits in the review inbox is a vote on that image.
    await votesFromCorrections(tx, project.id, values.filter((v) => now.has(v.id)), deps.now());
    return rows;
  });
  return counted('correction', result(input.corrections.length, inserted.length, rejected));
}

/** Checks each event on its own: the valid ones with their index in the batch, and each refused one with its reason. */
function validateEach<E>(events: unknown[], check: (raw: unknown) => { event: E } | { reason: string }) {
  const valid: { event: E; index: number }[] = [];
  const rejected: RejectedEvent[] = [];
  events.forEach((raw, index) => {
    const checked = check(raw);
    if ('event' in checked) valid.push({ event: checked.event, index });
    else rejected.push({ id: idOf(raw), index, reason: checked.reason });
  });
  return { valid, rejected };
}

/** The schema's parse, or its issues as one reason, fields named first. */
function checkedBy<S extends z.ZodType>(schema: S, raw: unknown): { event: z.output<S> } | { reason: string } {
  const parsed = schema.safeParse(raw);
  return parsed.success ? { event: parsed.data } : { reason: formatIssues(parsed.error, 'event') };
}

/** The event's own id, when it has a valid one: the outbox sets the event aside by it. */
function idOf(event: unknown): string | null {
  const parsed = z.uuid().safeParse(event && typeof event === 'object' ? (event as { id?: unknown }).id : undefined);
  return parsed.success ? parsed.data : null;
}

/** The events whose ids `stored` does not find; the others are duplicates. */
async function withoutStored<E extends { event: { id: string } } | { id: string | null }>(events: E[], stored: (ids: string[]) => Promise<{ id: string }[]>): Promise<E[]> {
  const idOfEntry = (e: E) => ('event' in e ? e.event.id : e.id);
  const ids = [...new Set(events.map(idOfEntry).filter((id): id is string => id !== null))];
  if (!ids.length) return events;
  const found = new Set((await stored(ids)).map((row) => row.id));
  return events.filter((e) => !found.has(idOfEntry(e) ?? ''));
}

/** Counts a sync's events in edgeloop_sync_events_total (tRPC sync and the bulk endpoint both end here). */
function counted(kind: 'prediction' | 'correction', synced: SyncResult): SyncResult {
  countSyncEvents(kind, { inserted: synced.inserted, duplicates: synced.duplicates, rejected: synced.rejected.length });
  return synced;
}

/** Every event received was inserted now, rejected, or already stored (a duplicate: stored before, or twice in this batch). */
function result(received: number, inserted: number, rejected: RejectedEvent[]): SyncResult {
  return { received, inserted, duplicates: received - inserted - rejected.length, rejected: rejected.sort((a, b) => a.index - b.index) };
}

/** A stored prediction as clients see it: dates as ISO strings, the latest label a person gave it (if any) as one field. */
export type PredictionSummary = Omit<feedback.PredictionWithTruth, 'createdAt' | 'truthLabel' | 'truthUnusable' | 'truthBy' | 'truthAt'> & {
  createdAt: string;
  /** label null with unusable true: the person said "none of these labels / unusable". */
  groundTruth: { label: string | null; unusable: boolean; labeledBy: string; at: string } | null;
};

/** The latest label a person gave the prediction, or null when nobody has labelled it. */
function groundTruthOf({ truthLabel, truthUnusable, truthBy, truthAt }: feedback.PredictionWithTruth): PredictionSummary['groundTruth'] {
  return (truthLabel || truthUnusable) && truthBy && truthAt ? { label: truthLabel, unusable: truthUnusable === true, labeledBy: truthBy, at: truthAt.toISOString() } : null;
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
  const before = input.before ? { createdAt: new Date(input.before.createdAt), id: input.before.id } : null;
  const rows = await feedback.pageOfProject(deps.db, { projectId: project.id, uncorrected: input.uncorrected ?? false, before, limit: input.limit + 1 });
  const page = rows.slice(0, input.limit);
  const last = page[page.length - 1];
  return {
    predictions: page.map((prediction): PredictionSummary => ({
      id: prediction.id,
      model: prediction.model,
      version: prediction.version,
      label: prediction.label,
      confidence: prediction.confidence,
      top: prediction.top,
      backend: prediction.backend,
      latencyMs: prediction.latencyMs,
      source: prediction.source,
      sentBy: prediction.sentBy,
      createdAt: prediction.createdAt.toISOString(),
      groundTruth: groundTruthOf(prediction),
    })),
    next: rows.length > input.limit && last ? { createdAt: last.createdAt.toISOString(), id: last.id } : null,
  };
}
