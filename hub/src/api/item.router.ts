import { REVIEW_ITEM_SOURCES, imageContentTypeSchema, labelSchema, sha256Schema, splitSchema } from '@edgeloop/shared';
import { z } from 'zod';
import { listItems, removeItem, updateItem } from '../datasets/item.service';
import { completeUpload, createUpload, projectOfUpload } from '../datasets/upload.service';
import { projectInput as project } from './inputs';
import { procedureFor, projectOf, router } from './trpc';

export const itemRouter = router({
  list: procedureFor('admin', 'engineer', 'labeler')
    .input(
      z.object({
        project,
        label: labelSchema.optional(),
        split: splitSchema.optional(),
        after: sha256Schema.optional(),
        limit: z.number().int().min(1).max(1000).default(100),
      }),
    )
    .query(({ ctx, input }) => listItems(ctx.deps, input)),
  update: procedureFor('admin', 'engineer', 'labeler')
    .input(z.object({ project, sha256: sha256Schema, label: labelSchema.optional(), split: splitSchema.optional() }))
    .mutation(({ ctx, input }) => updateItem(ctx.deps, input)),
  remove: procedureFor('admin', 'engineer')
    .input(z.object({ project, sha256: sha256Schema }))
    .mutation(({ ctx, input }) => removeItem(ctx.deps, input)),
  createUpload: procedureFor('admin', 'engineer', 'labeler')
    .input(
      z.object({
        project,
        sha256: sha256Schema,
        bytes: z.number().int().positive('bytes must be a positive integer'),
        contentType: imageContentTypeSchema,
        label: labelSchema,
        split: splitSchema.default('train'),
      }),
    )
    .mutation(({ ctx, input }) => createUpload(ctx.deps, ctx.caller, input)),
  completeUpload: procedureFor(projectOf('uploadId', projectOfUpload), 'admin', 'engineer', 'labeler')
    .input(
      z.object({
        uploadId: z.uuid('uploadId must be the id createUpload returned'),
        /** The image is of this prediction: it goes to the review inbox (pending), not straight into the working set. */
        predictionId: z.uuid('predictionId must be the id of a synced prediction').optional(),
        source: z.enum(REVIEW_ITEM_SOURCES, { error: () => `source must be one of: ${REVIEW_ITEM_SOURCES.join(', ')}` }).optional(),
      }),
    )
    .mutation(({ ctx, input }) => completeUpload(ctx.deps, ctx.caller, input)),
});
