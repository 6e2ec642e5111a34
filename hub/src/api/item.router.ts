import { ITEM_SOURCES, REVIEW_ITEM_SOURCES, imageContentTypeSchema, labelSchema, sha256Schema, splitSchema } from '@edgeloop/shared';
import { z } from 'zod';
import { type BrowsePage, type ItemHistory, MAX_BROWSE_PAGE, MAX_BROWSE_PAGE_SIZE, browseItems, itemHistory, restoreItem } from '../datasets/browse.service';
import { listItems, removeItem, updateItem } from '../datasets/item.service';
import { completeUpload, createUpload, projectOfUpload } from '../datasets/upload.service';
import { projectInput as project, versionInput } from './inputs';
import { procedureFor, projectOf, router } from './trpc';

const source = z.enum(ITEM_SOURCES, { error: () => `source must be one of: ${ITEM_SOURCES.join(', ')}` });

export const itemRouter = router({
  /**
   * A page of the items of a dataset version (`version`) or of the working set (no `version`), filtered by label,
   * split and source, ordered by sha256, with the total, the page count, each split's class balance and a thumbnail
   * URL per item. Page n of pageSize: pass `page`; a page past the last is empty (total and pages say how far to go).
   */
  browse: procedureFor('admin', 'engineer', 'ci')
    .input(
      z.object({
        project,
        version: versionInput.optional(),
        label: labelSchema.optional(),
        split: splitSchema.optional(),
        source: source.optional(),
        page: z.number().int('must be a whole number').min(1, 'at least 1').max(MAX_BROWSE_PAGE, `at most ${MAX_BROWSE_PAGE}`).default(1),
        pageSize: z.number().int('must be a whole number').min(1, 'at least 1').max(MAX_BROWSE_PAGE_SIZE, `at most ${MAX_BROWSE_PAGE_SIZE}`).default(48),
      }),
    )
    .query(({ ctx, input }): Promise<BrowsePage> => browseItems(ctx.deps, input)),
  /** One item: its image, where it is in the working set, which of the newest versions hold it (label, split), its device review and votes. */
  history: procedureFor('admin', 'engineer', 'ci')
    .input(z.object({ project, sha256: sha256Schema }))
    .query(({ ctx, input }): Promise<ItemHistory> => itemHistory(ctx.deps, input)),
  /** Puts a removed item back into the working set (what items.remove answered undoes it); its image must still be stored. */
  restore: procedureFor('admin', 'engineer')
    .input(z.object({ project, sha256: sha256Schema, label: labelSchema, split: splitSchema, source: source.default('upload') }))
    .mutation(({ ctx, input }) => restoreItem(ctx.deps, input)),
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
