import { z } from 'zod';
import { RUN_METRIC_NAMES } from '../training/run-metrics';
import { RUN_STATUSES, cancelRun, createRun, getRun, listRuns, projectOfRun } from '../training/run.service';
import { SWEEP_STRATEGIES, bestOfSweep, createSweep } from '../training/sweep.service';
import { projectInput as project, versionInput } from './inputs';
import { procedureFor, projectOf, router } from './trpc';

const runId = z.uuid('runId must be a run id (uuid)');
const ofRun = projectOf('runId', projectOfRun);
const configObject = z.record(z.string(), z.unknown()).optional();
/** Most runs one page of runs.list holds. */
export const MAX_RUNS_PAGE = 200;
const metric = z.enum(RUN_METRIC_NAMES, { error: () => `metric must be one of: ${RUN_METRIC_NAMES.join(', ')}` });

export const runRouter = router({
  create: procedureFor('admin', 'engineer', 'ci')
    .input(z.object({ project, datasetVersion: versionInput, model: configObject, train: configObject }))
    .mutation(({ ctx, input }) => createRun(ctx.deps, ctx.caller, input)),
  list: procedureFor('admin', 'engineer', 'ci')
    .input(
      z.object({
        project,
        limit: z.number().int().min(1, 'limit must be at least 1').max(MAX_RUNS_PAGE, `limit must be at most ${MAX_RUNS_PAGE}`).default(50),
        cursor: z.uuid('cursor must be the nextCursor of the page before (a run id)').optional(),
        status: z.enum(RUN_STATUSES, { error: () => `status must be one of: ${RUN_STATUSES.join(', ')}` }).optional(),
        sweepId: z.uuid('sweepId must be a sweep id (uuid)').optional(),
      }),
    )
    .query(({ ctx, input }) => listRuns(ctx.deps, input)),
  get: procedureFor(ofRun, 'admin', 'engineer', 'ci')
    .input(z.object({ runId, logLines: z.number().int().min(0).max(5000).default(200) }))
    .query(({ ctx, input }) => getRun(ctx.deps, input.runId, { logLines: input.logLines })),
  cancel: procedureFor(ofRun, 'admin', 'engineer', 'ci')
    .input(z.object({ runId }))
    .mutation(({ ctx, input }) => cancelRun(ctx.deps, ctx.caller, input.runId)),
  sweep: procedureFor('admin', 'engineer')
    .input(
      z.object({
        project,
        datasetVersion: versionInput,
        model: configObject,
        train: configObject,
        space: z.record(z.string(), z.array(z.unknown())),
        strategy: z.enum(SWEEP_STRATEGIES, { error: () => `strategy must be one of: ${SWEEP_STRATEGIES.join(', ')}` }).default('grid'),
        samples: z.number().int().min(1).max(64).optional(),
        metric: metric.default('valAccuracy'),
      }),
    )
    .mutation(({ ctx, input }) => createSweep(ctx.deps, ctx.caller, input)),
  sweepBest: procedureFor('admin', 'engineer', 'ci')
    .input(z.object({ project, sweepId: z.uuid('sweepId must be a sweep id (uuid)'), metric: metric.optional() }))
    .query(({ ctx, input }) => bestOfSweep(ctx.deps, input)),
});
