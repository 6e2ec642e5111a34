/**
 * The labeling view's order. Online, the hub's review policy decides it (feedback.nextReviews: most uncertain first,
 * every 3rd a uniformly drawn prediction, so accuracy from labels can be estimated without bias): the predictions this
 * device holds that the hub asked about come first, in the hub's order, each with the assignment its label answers.
 * The rest follow in the device's own order (newest first), as they do offline when the hub is not asked.
 */
import type { CorrectionEvent, ReviewComponent } from '@edgeloop/shared';
import type { HistoryEntry } from './local-db';

/** What the hub's queue says about one prediction (a subset of feedback.nextReviews' answer). */
export interface ReviewSlot {
  predictionId: string;
  assignmentId: string;
  component: ReviewComponent;
}

export interface OrderedEntry {
  entry: HistoryEntry;
  /** Set when the hub's queue asked for this prediction: the label sent for it carries this id. */
  review?: ReviewSlot;
}

/** `entries` (in the device's order) re-ordered by the hub's queue `reviews`; null reviews (offline): unchanged. */
export function orderForReview(entries: readonly HistoryEntry[], reviews: readonly ReviewSlot[] | null): OrderedEntry[] {
  if (!reviews?.length) return entries.map((entry) => ({ entry }));
  const byId = new Map(entries.map((entry) => [entry.id, entry]));
  const asked = reviews.flatMap((review) => {
    const entry = byId.get(review.predictionId);
    return entry ? [{ entry, review }] : [];
  });
  const first = new Set(asked.map((a) => a.entry.id));
  return [...asked, ...entries.filter((entry) => !first.has(entry.id)).map((entry) => ({ entry }))];
}

/**
 * The correction event a label becomes (label null: "none of these labels / unusable"): the assignment it answers goes
 * with it when the hub's queue asked for it.
 */
export function correctionEvent(input: { id: string; predictionId: string; label: string | null; at: string; assignmentId?: string }): CorrectionEvent {
  return {
    id: input.id,
    predictionId: input.predictionId,
    ...(input.label === null ? { unusable: true as const } : { label: input.label }),
    createdAt: input.at,
    ...(input.assignmentId ? { assignmentId: input.assignmentId } : {}),
  };
}

/** The hub's batch as the device keeps it (IndexedDB), so labeling in its order goes on offline. */
export interface StoredReviewBatch {
  project: string;
  /** When the hub gave it (ms since epoch). */
  takenAt: number;
  reviews: ReviewSlot[];
}

/** The batch's slots still to answer: those whose prediction has no label on this device yet. */
export function openSlots(batch: StoredReviewBatch | undefined, project: string, labelled: ReadonlySet<string>): ReviewSlot[] | null {
  if (!batch || batch.project !== project) return null;
  return batch.reviews.filter((r) => !labelled.has(r.predictionId));
}
