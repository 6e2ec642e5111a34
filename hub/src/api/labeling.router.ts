import { INBOX_DECISIONS, REVIEW_ITEM_STATUSES, clientTimeSchema, labelSchema, reviewAcceptanceSchema } from '@edgeloop/shared';
import { z } from 'zod';
import {
  type InboxPage,
  type LabelingSettingsView,
  MAX_INBOX_PAGE,
  MAX_LABELING_QUEUE,
  type ReviewItemOutcome,
  decideItem,
  getLabelingSettings,
  labelingQueue,
  reviewInbox,
  reviewItemImage,
  setLabelingSettings,
  voteOnItem,
} from '../feedback/review-item.service';
import { projectInput as project } from './inputs';
import { procedureFor, router } from './trpc';

const itemId = z.uuid('itemId must be the id of a review item (labeling.inbox)');
const acceptanceFields = reviewAcceptanceSchema.shape;

/**
 * Images of reviewed predictions on their way into the working set: the review inbox, votes, a person's decision and
 * the project's labeling settings. Admins and engineers do everything; labelers read the queue and inbox and vote
 * (their votes accept by the project's rules only); devices read the settings (the PWA tells its user whether images
 * are collected).
 */
export const labelingRouter = router({
  settings: router({
    get: procedureFor('admin', 'engineer', 'labeler', 'device')
      .input(z.object({ project }))
      .query(({ ctx, input }): Promise<LabelingSettingsView> => getLabelingSettings(ctx.deps, input)),
    /** Changes the fields given; `acceptance` as a whole. */
    set: procedureFor('admin', 'engineer')
      .input(
        z.object({
          project,
          collectReviewedImages: z.boolean({ error: 'collectReviewedImages must be true or false' }).optional(),
          acceptance: z
            .object({
              agreement: acceptanceFields.agreement.unwrap(),
              trustedLabelers: acceptanceFields.trustedLabelers.unwrap(),
            })
            .optional(),
        }),
      )
      .mutation(({ ctx, input }): Promise<LabelingSettingsView> => setLabelingSettings(ctx.deps, ctx.caller, input)),
  }),
  /** Pending items the caller has not voted on, oldest first, each with its image (a presigned URL) and votes. */
  queue: procedureFor('admin', 'engineer', 'labeler')
    .input(z.object({ project, limit: z.number().int().min(1).max(MAX_LABELING_QUEUE, `limit: at most ${MAX_LABELING_QUEUE}`).default(20) }))
    .query(({ ctx, input }): Promise<{ items: InboxPage['items'] }> => labelingQueue(ctx.deps, ctx.caller, input)),
  /** The review inbox, newest first, optionally one status; pass an answer's `next` as `before`. */
  inbox: procedureFor('admin', 'engineer', 'labeler')
    .input(
      z.object({
        project,
        status: z.enum(REVIEW_ITEM_STATUSES, { error: () => `status must be one of: ${REVIEW_ITEM_STATUSES.join(', ')}` }).optional(),
        before: z.object({ createdAt: clientTimeSchema, id: z.uuid('before.id must be a review item id (uuid)') }).optional(),
        limit: z.number().int().min(1).max(MAX_INBOX_PAGE, `limit: at most ${MAX_INBOX_PAGE}`).default(20),
      }),
    )
    .query(({ ctx, input }): Promise<InboxPage> => reviewInbox(ctx.deps, input)),
  /** The caller's label for a pending item (or unusable: true); the project's rules may accept it. */
  vote: procedureFor('admin', 'engineer', 'labeler')
    .input(
      z
        .object({ project, itemId, label: labelSchema.optional(), unusable: z.literal(true, { error: () => 'unusable must be true when given' }).optional() })
        .refine((v) => (v.label === undefined) !== (v.unusable === undefined), { path: ['label'], message: 'exactly one of label or unusable: true must be given' }),
    )
    .mutation(({ ctx, input }): Promise<ReviewItemOutcome> => voteOnItem(ctx.deps, ctx.caller, { project: input.project, itemId: input.itemId, label: input.label ?? null })),
  /** A person accepts a pending item with a label (another than the votes' relabels it) or rejects it. */
  decide: procedureFor('admin', 'engineer')
    .input(
      z.object({
        project,
        itemId,
        decision: z.enum(INBOX_DECISIONS, { error: () => `decision must be one of: ${INBOX_DECISIONS.join(', ')}` }),
        label: labelSchema.optional(),
      }),
    )
    .mutation(({ ctx, input }): Promise<ReviewItemOutcome> => decideItem(ctx.deps, ctx.caller, input)),
  /** A presigned GET of an item's image, valid 10 minutes. */
  imageUrl: procedureFor('admin', 'engineer', 'labeler')
    .input(z.object({ project, itemId }))
    .query(({ ctx, input }): Promise<{ url: string; expiresAt: string }> => reviewItemImage(ctx.deps, input)),
});
