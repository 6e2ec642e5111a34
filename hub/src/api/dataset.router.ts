import { text } from '@edgeloop/shared';
import { z } from 'zod';
import { commitVersion, diffVersions, exportVersionUrl, getVersion, listVersions } from '../datasets/version.service';
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
    .input(z.object({ project, from: version, to: version, limit: z.number().int().min(0).max(10_000).default(100) }))
    .query(async ({ ctx, input }) => {
      const diff = await diffVersions(ctx.deps, input);
      // Counts are exact; the item lists are cut to `limit` so a large diff stays a small response.
      return {
        from: diff.from,
        to: diff.to,
        counts: { added: diff.added.length, removed: diff.removed.length, relabelled: diff.relabelled.length, unchanged: diff.unchanged },
        added: diff.added.slice(0, input.limit),
        removed: diff.removed.slice(0, input.limit),
        relabelled: diff.relabelled.slice(0, input.limit),
      };
    }),
  export: procedureFor('admin', 'engineer', 'ci')
    .input(z.object({ project, version }))
    .query(({ ctx, input }) => exportVersionUrl(ctx.deps, input.project, input.version)),
});
