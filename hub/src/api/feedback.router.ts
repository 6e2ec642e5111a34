import { clientTimeSchema, syncCorrectionsInputSchema, syncPredictionsInputSchema } from '@edgeloop/shared';
import { z } from 'zod';
import { listPredictions, syncCorrections, syncPredictions } from '../feedback/feedback.service';
import { MAX_NEXT_REVIEWS, MAX_REVIEW_CANDIDATES, nextReviews } from '../feedback/review-assignment.service';
import { projectInput as project } from './inputs';
import { procedureFor, router } from './trpc';

export const feedbackRouter = router({
  /** Devices send what they predicted; so do labelers' and engineers' browsers. */
  syncPredictions: procedureFor('admin', 'engineer', 'labeler', 'device')
    .input(syncPredictionsInputSchema)
    .mutation(({ ctx, input }) => syncPredictions(ctx.deps, ctx.caller, input)),
  /** Ground truth comes from people who label. */
  syncCorrections: procedureFor('admin', 'engineer', 'labeler')
    .input(syncCorrectionsInputSchema)
    .mutation(({ ctx, input }) => syncCorrections(ctx.deps, ctx.caller, input)),
  predictions: procedureFor('admin', 'engineer', 'labeler')
    .input(
      z.object({
        project,
        uncorrected: z.boolean().default(false),
        /** The `next` cursor of the previous page. */
        before: z
          .object({
            createdAt: clientTimeSchema,
            id: z.uuid('before.id must be a prediction id (uuid)'),
          })
          .optional(),
        limit: z.number().int().min(1).max(500).default(50),
      }),
    )
    .query(({ ctx, input }) => listPredictions(ctx.deps, input)),
  /**
   * The next predictions to label in the review policy's order (most uncertain first, spread over different-looking
   * pictures by k-center on their embeddings, every 3rd a uniform pick), marked shown to the caller; the label sent
   * for one carries its assignmentId.
   */
  nextReviews: procedureFor('admin', 'engineer', 'labeler')
    .input(
      z.object({
        project,
        limit: z.number().int().min(1).max(MAX_NEXT_REVIEWS, `limit: at most ${MAX_NEXT_REVIEWS}`).default(20),
        /** Only among these predictions (a device labels what it holds). */
        predictionIds: z
          .array(z.uuid('predictionIds: each must be a prediction id (uuid)'))
          .max(MAX_REVIEW_CANDIDATES, `predictionIds: at most ${MAX_REVIEW_CANDIDATES}`)
          .optional(),
      }),
    )
    .mutation(({ ctx, input }) => nextReviews(ctx.deps, ctx.caller, input)),
});
