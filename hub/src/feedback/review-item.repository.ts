/**
 * The review_items and review_item_votes tables: images of reviewed predictions from devices, pending until a person
 * or a project rule accepts them, and each labeler's label for them.
 */
import type { AcceptanceRule } from '@edgeloop/shared';
import { and, asc, eq } from 'drizzle-orm';
import type { Database } from '../db/database';
import { reviewItems } from '../db/schema';

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
