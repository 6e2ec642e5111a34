/**
 * The owner of `review_assignments`: how each prediction chosen for people's review was chosen (the policy, its
 * component, the inclusion probability π it had) and where it stands: queued -> shown -> labeled, or expired when
 * nobody labeled it in time. Decided once per prediction (UNIQUE prediction_id; inserts ignore a second decision).
 */
import type { QueueResponse, ReviewComponent, TopClasses } from '@edgeloop/shared';
import { and, asc, desc, eq, inArray, isNotNull, lt, ne, or, sql } from 'drizzle-orm';
import type { Database } from '../db/database';
import { corrections, modelVersions, predictions, registeredModels, reviewAssignments } from '../db/schema';

export const REVIEW_STATUSES = ['queued', 'shown', 'labeled', 'expired'] as const;
export type ReviewStatus = (typeof REVIEW_STATUSES)[number];

export interface NewReviewAssignment {
  projectId: string;
  predictionId: string;
  modelVersionId: string;
  policy: string;
  component: ReviewComponent;
  inclusionProbability: number;
  uncertainty: number;
}

/** Rows per INSERT statement: 7 parameters each, far below PostgreSQL's 65,535. */
const INSERT_CHUNK = 2_000;

/** Inserts the assignments whose prediction has none yet (ON CONFLICT (prediction_id) DO NOTHING); returns how many. */
export async function insertMany(db: Database, rows: NewReviewAssignment[]): Promise<number> {
  let inserted = 0;
  for (let at = 0; at < rows.length; at += INSERT_CHUNK) {
    const chunk = rows.slice(at, at + INSERT_CHUNK);
    const done = await db.insert(reviewAssignments).values(chunk).onConflictDoNothing({ target: reviewAssignments.predictionId }).returning({ id: reviewAssignments.id });
    inserted += done.length;
  }
  return inserted;
}

export interface QueuedReview {
  assignmentId: string;
  predictionId: string;
  component: ReviewComponent;
  uncertainty: number;
  assignedAt: Date;
  model: string;
  version: number;
  label: string;
  confidence: number;
  top: TopClasses;
  predictedAt: Date;
  modelVersionId: string;
  /** The prediction's embedding, float32 little-endian bytes [d] (for the batch's diversity). */
  embedding: Uint8Array;
}

/**
 * What a labeler may be shown now: queued, or shown but not labeled (to this labeler again, or to another one whose
 * lease ran out before `leaseBefore`), of a prediction nobody has labelled yet; only among `among` when given.
 */
function reviewable(projectId: string, shownTo: string, leaseBefore: Date, among: string[] | undefined) {
  return and(
    eq(reviewAssignments.projectId, projectId),
    among ? inArray(reviewAssignments.predictionId, among) : undefined,
    or(
      eq(reviewAssignments.status, 'queued'),
      and(eq(reviewAssignments.status, 'shown'), or(eq(reviewAssignments.shownTo, shownTo), lt(reviewAssignments.shownAt, leaseBefore))),
    ),
    sql`not exists (select 1 from ${corrections} where ${corrections.predictionId} = ${reviewAssignments.predictionId})`,
  );
}

const queuedColumns = {
  assignmentId: reviewAssignments.id,
  predictionId: reviewAssignments.predictionId,
  component: sql<ReviewComponent>`${reviewAssignments.component}`,
  uncertainty: reviewAssignments.uncertainty,
  assignedAt: reviewAssignments.createdAt,
  model: registeredModels.name,
  version: modelVersions.version,
  label: predictions.label,
  confidence: predictions.confidence,
  top: predictions.topK,
  predictedAt: predictions.createdAt,
  modelVersionId: reviewAssignments.modelVersionId,
  embedding: predictions.embedding,
};

/**
 * Takes the next reviews for `shownTo` in the policy's order and marks them shown to it at `at`, in one transaction
 * whose candidate rows are locked (SKIP LOCKED), so two labelers asking at once get different items. `order` picks
 * the final order from the two candidate lists (descending uncertainty, `pool` of them when larger than `limit`, for
 * the batch's diversity; uniform ones oldest first) and the number of
 * assignments of the project ever shown (the queue's position in its rhythm).
 */
export async function takeNext(
  db: Database,
  input: { projectId: string; shownTo: string; at: Date; leaseBefore: Date; limit: number; among?: string[]; pool?: number },
  order: (byUncertainty: QueuedReview[], oldestUniform: QueuedReview[], shownBefore: number) => QueuedReview[],
): Promise<QueuedReview[]> {
  return db.transaction(async (tx) => {
    const where = reviewable(input.projectId, input.shownTo, input.leaseBefore, input.among);
    const [served] = await tx
      .select({ count: sql<number>`count(*)`.mapWith(Number) })
      .from(reviewAssignments)
      .where(and(eq(reviewAssignments.projectId, input.projectId), isNotNull(reviewAssignments.shownAt)));
    const base = () =>
      tx
        .select(queuedColumns)
        .from(reviewAssignments)
        .innerJoin(predictions, eq(predictions.id, reviewAssignments.predictionId))
        .innerJoin(modelVersions, eq(modelVersions.id, reviewAssignments.modelVersionId))
        .innerJoin(registeredModels, eq(registeredModels.id, modelVersions.modelId));
    const byUncertainty = await base()
      .where(where)
      .orderBy(desc(reviewAssignments.uncertainty), asc(reviewAssignments.createdAt), asc(reviewAssignments.id))
      .limit(Math.max(input.limit, input.pool ?? 0))
      .for('update', { of: reviewAssignments, skipLocked: true });
    const oldestUniform = await base()
      .where(and(where, eq(reviewAssignments.component, 'uniform')))
      .orderBy(asc(reviewAssignments.createdAt), asc(reviewAssignments.id))
      .limit(input.limit)
      .for('update', { of: reviewAssignments, skipLocked: true });
    const chosen = order(byUncertainty, oldestUniform, served?.count ?? 0).slice(0, input.limit);
    if (chosen.length) {
      await tx
        .update(reviewAssignments)
        .set({ status: 'shown', shownTo: input.shownTo, shownAt: input.at })
        .where(inArray(reviewAssignments.id, chosen.map((r) => r.assignmentId)));
    }
    return chosen;
  });
}

/** The assignments among `ids` that belong to the project, with the prediction each one is for. */
export async function predictionsOfAssignments(db: Database, projectId: string, ids: string[]): Promise<{ id: string; predictionId: string }[]> {
  if (!ids.length) return [];
  return db
    .select({ id: reviewAssignments.id, predictionId: reviewAssignments.predictionId })
    .from(reviewAssignments)
    .where(and(eq(reviewAssignments.projectId, projectId), inArray(reviewAssignments.id, ids)));
}

/** A label answered these assignments at `at` (a late answer to an expired one counts too). Returns how many changed. */
export async function markLabeled(db: Database, ids: string[], at: Date): Promise<number> {
  if (!ids.length) return 0;
  const rows = await db
    .update(reviewAssignments)
    .set({ status: 'labeled', labeledAt: at })
    .where(and(inArray(reviewAssignments.id, ids), ne(reviewAssignments.status, 'labeled')))
    .returning({ id: reviewAssignments.id });
  return rows.length;
}

/** The model versions of the project's assignments waiting for a label (their profiles project the embeddings). */
export async function waitingVersions(db: Database, projectId: string): Promise<string[]> {
  const rows = await db
    .selectDistinct({ id: reviewAssignments.modelVersionId })
    .from(reviewAssignments)
    .where(and(eq(reviewAssignments.projectId, projectId), inArray(reviewAssignments.status, ['queued', 'shown'])));
  return rows.map((r) => r.id);
}

/** Queued or shown assignments made before `before` become expired: nobody answered them (non-response, kept). */
export async function expireBefore(db: Database, before: Date): Promise<number> {
  const rows = await db
    .update(reviewAssignments)
    .set({ status: 'expired' })
    .where(and(inArray(reviewAssignments.status, ['queued', 'shown']), lt(reviewAssignments.createdAt, before)))
    .returning({ id: reviewAssignments.id });
  return rows.length;
}

/** Strata (by uncertainty) of the uncertainty component within which its response rate is estimated. */
export const RESPONSE_STRATA = 10;

export interface LabeledAssignment {
  /** The policy label stored with it (name and settings: shared parseReviewPolicyLabel). */
  policy: string;
  component: ReviewComponent;
  inclusionProbability: number;
  uncertainty: number;
  /** The latest label given equals the prediction. */
  correct: boolean;
}

export interface AssignmentCounts {
  queued: number;
  shown: number;
  labeled: number;
  expired: number;
}

/**
 * For label-based accuracy of a model version (optionally one channel): each labeled assignment with its policy, π,
 * uncertainty and whether the latest label confirmed the prediction (those whose latest label is "unusable" are not
 * evaluable: counted apart); how far labelers got (shared QueueResponse: the
 * uniform component's counts, the uncertainty component's by decile of uncertainty, by ntile); the counts by status.
 * Three reads of the version's assignments.
 */
export async function labeledForEstimates(
  db: Database,
  input: { projectId: string; modelVersionId: string; channel?: string },
): Promise<{ labeled: LabeledAssignment[]; unusable: number; response: QueueResponse; counts: AssignmentCounts }> {
  const scope = and(
    eq(reviewAssignments.projectId, input.projectId),
    eq(reviewAssignments.modelVersionId, input.modelVersionId),
    input.channel === undefined ? undefined : eq(predictions.channel, input.channel),
  );
  const latestLabel = sql<string | null>`(select ${corrections.label} from ${corrections} where ${corrections.predictionId} = ${reviewAssignments.predictionId} order by ${corrections.createdAt} desc, ${corrections.receivedAt} desc limit 1)`;
  const rows = await db
    .select({
      policy: reviewAssignments.policy,
      component: reviewAssignments.component,
      inclusionProbability: reviewAssignments.inclusionProbability,
      uncertainty: reviewAssignments.uncertainty,
      predicted: predictions.label,
      latest: latestLabel,
    })
    .from(reviewAssignments)
    .innerJoin(predictions, eq(predictions.id, reviewAssignments.predictionId))
    .where(and(scope, eq(reviewAssignments.status, 'labeled')));

  const ranked = db.$with('ranked').as(
    db
      .select({
        uncertainty: sql<number>`${reviewAssignments.uncertainty}`.as('uncertainty'),
        labeled: sql<number>`(${reviewAssignments.status} = 'labeled')::int`.as('labeled'),
        stratum: sql<number>`ntile(${sql.raw(String(RESPONSE_STRATA))}) over (order by ${reviewAssignments.uncertainty})`.as('stratum'),
      })
      .from(reviewAssignments)
      .innerJoin(predictions, eq(predictions.id, reviewAssignments.predictionId))
      .where(and(scope, eq(reviewAssignments.component, 'uncertainty'))),
  );
  const strata = await db
    .with(ranked)
    .select({
      maxUncertainty: sql<number>`max(${ranked.uncertainty})`.mapWith(Number),
      labeled: sql<number>`sum(${ranked.labeled})`.mapWith(Number),
      assigned: sql<number>`count(*)`.mapWith(Number),
    })
    .from(ranked)
    .groupBy(ranked.stratum)
    .orderBy(ranked.stratum);

  const byStatus = await db
    .select({ component: reviewAssignments.component, status: reviewAssignments.status, count: sql<number>`count(*)`.mapWith(Number) })
    .from(reviewAssignments)
    .innerJoin(predictions, eq(predictions.id, reviewAssignments.predictionId))
    .where(scope)
    .groupBy(reviewAssignments.component, reviewAssignments.status);
  const counts: AssignmentCounts = { queued: 0, shown: 0, labeled: 0, expired: 0 };
  const uniform = { labeled: 0, assigned: 0 };
  for (const row of byStatus) {
    counts[row.status as ReviewStatus] += row.count;
    if (row.component !== 'uniform') continue;
    uniform.assigned += row.count;
    if (row.status === 'labeled') uniform.labeled += row.count;
  }
  return {
    // A labeled assignment always has a label row (markLabeled follows its insert): a null latest label is "unusable".
    unusable: rows.filter((row) => row.latest === null).length,
    labeled: rows
      .filter((row) => row.latest !== null)
      .map((row) => ({
        policy: row.policy,
        component: row.component as ReviewComponent,
        inclusionProbability: row.inclusionProbability,
        uncertainty: row.uncertainty,
        correct: row.latest === row.predicted,
      })),
    response: { uniform, uncertaintyStrata: strata },
    counts,
  };
}
