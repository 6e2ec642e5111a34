import { text } from '@edgeloop/shared';
import { z } from 'zod';
import { type DiffPage, MAX_DIFF_IMAGES, diffPage } from '../datasets/browse.service';
import { activitiesOf } from '../datasets/dataset-activity';
import { getProject } from '../projects/project.service';
import { commitVersion, exportVersionUrl, getVersion, listVersions } from '../datasets/version.service';
import { projectInput as project, versionInput as version } from './inputs';
import { procedureFor, router } from './trpc';

export const datasetRouter = router({
  commit: procedureFor('admin', 'engineer', 'ci')
    .input(z.object({ project, message: text(2000).min(1, 'message must not be empty') }))
    .mutation(({ ctx, input }) => commitVersion(ctx.deps, { ...input, createdBy: ctx.caller.name })),
  list: procedureFor('admin', 'engineer', 'ci').input(z.object({ project })).query(({ ctx, input }) => listVersions(ctx.deps, input.project)),
  get: procedureFor('admin', 'engineer', 'ci')
    .input(z.object({ project, version }))
    .query(({ ctx, input }) => getVersion(ctx.deps, input.project, input.version)),
  diff: procedureFor('admin', 'engineer', 'ci')
    .input(
      z
        .object({
          project,
          from: version,
          to: version,
          limit: z.number().int().min(0).max(10_000, 'at most 10000').default(100),
          /** Skips this many entries of each kind (added, removed, relabelled): the next page of a large diff. */
          offset: z.number().int().min(0, 'at least 0').max(1_000_000, 'at most 1000000').default(0),
          /** A thumbnail URL per listed item (limit at most MAX_DIFF_IMAGES). */
          images: z.boolean({ error: 'images must be true or false' }).default(false),
        })
        .refine((v) => !v.images || v.limit <= MAX_DIFF_IMAGES, { path: ['limit'], message: `at most ${MAX_DIFF_IMAGES} with images` }),
    )
    // Counts are exact; the item lists are cut to `limit` from `offset` so a large diff stays a small response.
    .query(({ ctx, input }): Promise<DiffPage> => diffPage(ctx.deps, input)),
  export: procedureFor('admin', 'engineer', 'ci')
    .input(z.object({ project, version }))
    .query(({ ctx, input }) => exportVersionUrl(ctx.deps, input.project, input.version)),
  /** The project's imports and commits running now (in any process on the database), and those that ended in the last minutes, oldest first. */
  activity: procedureFor('admin', 'engineer', 'ci')
    .input(z.object({ project }))
    .query(async ({ ctx, input }) => {
      const project = await getProject(ctx.deps, input.project);
      return (await activitiesOf(ctx.deps, project)).map((a) => ({
        id: a.id,
        kind: a.kind,
        step: a.step,
        done: a.done,
        total: a.total,
        startedAt: a.startedAt.toISOString(),
        finishedAt: a.finishedAt?.toISOString() ?? null,
        failed: a.failed,
      }));
    }),
});
