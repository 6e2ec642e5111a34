/**
 * The review_items and review_item_votes tables: images of reviewed predictions from devices, pending until a person
 * or a project rule accepts them, and each labeler's label for them. pending -> accepted (label, rule, who, when) |
 * rejected (who, when); a decided item never changes again (every state change is conditional on `pending`).
 */
import type { AcceptanceRule, ReviewItemSource, ReviewItemStatus, TopClasses } from '@edgeloop/shared';
import { and, asc, desc, eq, gt, inArray, lt, or, sql } from 'drizzle-orm';
import type { Database } from '../db/database';
import { blobs, predictions, reviewItemVotes, reviewItems } from '../db/schema';

export interface AcceptedReviewItem {
  sha256: string;
  label: string;
  predictionId: string | null;
  rule: AcceptanceRule;
  decidedAt: Date;
}

/** The project's accepted review items, oldest decision first: what the retraining pipeline adds to its base version. */
export async function acceptedOfProject(db: Database, projectId: string): Promise<AcceptedReviewItem[]> {
  const rows = await db
    .select({ sha256: reviewItems.sha256, label: reviewItems.label, predictionId: reviewItems.predictionId, rule: reviewItems.decisionRule, decidedAt: reviewItems.decidedAt })
    .from(reviewItems)
    .where(and(eq(reviewItems.projectId, projectId), eq(reviewItems.status, 'accepted')))
    .orderBy(asc(reviewItems.decidedAt), asc(reviewItems.sha256));
  // Accepted rows always have a label, a rule and a time (the accept sets all three).
  return rows.map((r) => ({ sha256: r.sha256, label: r.label!, predictionId: r.predictionId, rule: r.rule as AcceptanceRule, decidedAt: r.decidedAt! }));
}

export interface ReviewItemRow {
  id: string;
  projectId: string;
  sha256: string;
  predictionId: string | null;
  source: ReviewItemSource;
  status: ReviewItemStatus;
  label: string | null;
  decidedBy: string | null;
  decisionRule: AcceptanceRule | null;
  decidedAt: Date | null;
  createdAt: Date;
}

const itemColumns = {
  id: reviewItems.id,
  projectId: reviewItems.projectId,
  sha256: reviewItems.sha256,
  predictionId: reviewItems.predictionId,
  source: sql<ReviewItemSource>`${reviewItems.source}`,
  status: sql<ReviewItemStatus>`${reviewItems.status}`,
  label: reviewItems.label,
  decidedBy: reviewItems.decidedBy,
  decisionRule: sql<AcceptanceRule | null>`${reviewItems.decisionRule}`,
  decidedAt: reviewItems.decidedAt,
  createdAt: reviewItems.createdAt,
};

/**
 * The project's item for this image, made pending now if it has none (one row per project and image: a second upload
 * of the same image, say by another labeler, finds the first). `created`: whether this call made it.
 */
export async function findOrCreate(
  db: Database,
  item: { projectId: string; sha256: string; predictionId: string | null; source: ReviewItemSource; at: Date },
): Promise<{ row: ReviewItemRow; created: boolean }> {
  const [inserted] = await db
    .insert(reviewItems)
    .values({ projectId: item.projectId, sha256: item.sha256, predictionId: item.predictionId, source: item.source, status: 'pending', createdAt: item.at })
    .onConflictDoNothing({ target: [reviewItems.projectId, reviewItems.sha256] })
    .returning({ id: reviewItems.id });
  const [row] = await db
    .select(itemColumns)
    .from(reviewItems)
    .where(and(eq(reviewItems.projectId, item.projectId), eq(reviewItems.sha256, item.sha256)));
  return { row: row!, created: inserted !== undefined };
}

export async function findInProject(db: Database, projectId: string, id: string): Promise<ReviewItemRow | null> {
  const [row] = await db.select(itemColumns).from(reviewItems).where(and(eq(reviewItems.projectId, projectId), eq(reviewItems.id, id)));
  return row ?? null;
}

/** The project's review item of this image (one per project and image), or null. */
export async function findBySha256(db: Database, projectId: string, sha256: string): Promise<ReviewItemRow | null> {
  const [row] = await db.select(itemColumns).from(reviewItems).where(and(eq(reviewItems.projectId, projectId), eq(reviewItems.sha256, sha256)));
  return row ?? null;
}

/** The pending items of these predictions (a label synced for one is a vote on its image). */
export async function pendingOfPredictions(db: Database, projectId: string, predictionIds: readonly string[]): Promise<{ id: string; predictionId: string }[]> {
  if (!predictionIds.length) return [];
  const rows = await db
    .select({ id: reviewItems.id, predictionId: reviewItems.predictionId })
    .from(reviewItems)
    .where(and(eq(reviewItems.projectId, projectId), eq(reviewItems.status, 'pending'), inArray(reviewItems.predictionId, [...predictionIds])));
  return rows.map((r) => ({ id: r.id, predictionId: r.predictionId! }));
}

/** Of these predictions, those whose image the hub holds in a review item (any status). */
export async function predictionsWithImages(db: Database, projectId: string, predictionIds: readonly string[]): Promise<Set<string>> {
  if (!predictionIds.length) return new Set();
  const rows = await db
    .select({ predictionId: reviewItems.predictionId })
    .from(reviewItems)
    .where(and(eq(reviewItems.projectId, projectId), inArray(reviewItems.predictionId, [...predictionIds])));
  return new Set(rows.map((r) => r.predictionId!));
}

/** A labeler's label for an item (null: unusable); a second vote by the same labeler replaces the first. */
export async function putVote(db: Database, vote: { itemId: string; labeledBy: string; label: string | null; at: Date }): Promise<void> {
  await db
    .insert(reviewItemVotes)
    .values({ itemId: vote.itemId, labeledBy: vote.labeledBy, label: vote.label, createdAt: vote.at })
    .onConflictDoUpdate({ target: [reviewItemVotes.itemId, reviewItemVotes.labeledBy], set: { label: vote.label, createdAt: vote.at } });
}

export interface Vote {
  labeledBy: string;
  label: string | null;
  at: Date;
}

/** The votes of each item, oldest first. */
export async function votesOf(db: Database, itemIds: readonly string[]): Promise<Map<string, Vote[]>> {
  const out = new Map<string, Vote[]>(itemIds.map((id) => [id, []]));
  if (!itemIds.length) return out;
  const rows = await db
    .select({ itemId: reviewItemVotes.itemId, labeledBy: reviewItemVotes.labeledBy, label: reviewItemVotes.label, at: reviewItemVotes.createdAt })
    .from(reviewItemVotes)
    .where(inArray(reviewItemVotes.itemId, [...itemIds]))
    .orderBy(asc(reviewItemVotes.createdAt), asc(reviewItemVotes.labeledBy));
  for (const row of rows) out.get(row.itemId)!.push({ labeledBy: row.labeledBy, label: row.label, at: row.at });
  return out;
}

/** pending -> accepted with its label, rule and who; null when it was not pending (decided already, or another project's). */
export async function accept(db: Database, input: { projectId: string; id: string; label: string; rule: AcceptanceRule; by: string; at: Date }): Promise<ReviewItemRow | null> {
  const [row] = await db
    .update(reviewItems)
    .set({ status: 'accepted', label: input.label, decisionRule: input.rule, decidedBy: input.by, decidedAt: input.at })
    .where(and(eq(reviewItems.projectId, input.projectId), eq(reviewItems.id, input.id), eq(reviewItems.status, 'pending')))
    .returning(itemColumns);
  return row ?? null;
}

/** pending -> rejected by a person; null when it was not pending. */
export async function reject(db: Database, input: { projectId: string; id: string; by: string; at: Date }): Promise<ReviewItemRow | null> {
  const [row] = await db
    .update(reviewItems)
    .set({ status: 'rejected', decidedBy: input.by, decidedAt: input.at })
    .where(and(eq(reviewItems.projectId, input.projectId), eq(reviewItems.id, input.id), eq(reviewItems.status, 'pending')))
    .returning(itemColumns);
  return row ?? null;
}

export interface InboxRow extends ReviewItemRow {
  contentType: string;
  width: number;
  height: number;
  /** The prediction the image belongs to: its top-1 label and calibrated-or-device confidence, null when none. */
  predicted: { label: string; confidence: number; top: TopClasses } | null;
}

/**
 * A page of the project's items, newest first (or `oldestFirst`), optionally one status, past the cursor
 * (createdAt, id) of the previous page. Uses review_items_inbox.
 */
export async function inboxPage(
  db: Database,
  input: { projectId: string; status: ReviewItemStatus | null; before: { createdAt: Date; id: string } | null; limit: number; oldestFirst?: boolean },
): Promise<InboxRow[]> {
  const past = input.oldestFirst ? gt : lt;
  const rows = await db
    .select({
      ...itemColumns,
      contentType: blobs.contentType,
      width: blobs.width,
      height: blobs.height,
      predictedLabel: predictions.label,
      predictedConfidence: predictions.confidence,
      predictedTop: predictions.topK,
    })
    .from(reviewItems)
    .innerJoin(blobs, eq(blobs.sha256, reviewItems.sha256))
    .leftJoin(predictions, eq(predictions.id, reviewItems.predictionId))
    .where(
      and(
        eq(reviewItems.projectId, input.projectId),
        input.status ? eq(reviewItems.status, input.status) : undefined,
        input.before
          ? or(past(reviewItems.createdAt, input.before.createdAt), and(eq(reviewItems.createdAt, input.before.createdAt), past(reviewItems.id, input.before.id)))
          : undefined,
      ),
    )
    .orderBy(...(input.oldestFirst ? [asc(reviewItems.createdAt), asc(reviewItems.id)] : [desc(reviewItems.createdAt), desc(reviewItems.id)]))
    .limit(input.limit);
  return rows.map(({ predictedLabel, predictedConfidence, predictedTop, ...row }) => ({
    ...row,
    predicted: predictedLabel === null ? null : { label: predictedLabel, confidence: predictedConfidence!, top: predictedTop! },
  }));
}

/** Counts of the project's items by status. */
export async function countsOfProject(db: Database, projectId: string): Promise<Record<ReviewItemStatus, number>> {
  const rows = await db
    .select({ status: reviewItems.status, count: sql<number>`count(*)`.mapWith(Number) })
    .from(reviewItems)
    .where(eq(reviewItems.projectId, projectId))
    .groupBy(reviewItems.status);
  const counts: Record<ReviewItemStatus, number> = { pending: 0, accepted: 0, rejected: 0 };
  for (const row of rows) counts[row.status as ReviewItemStatus] = row.count;
  return counts;
}
