import { channelNameSchema, modelNameSchema, pipelineSettingsSchema, text } from '@edgeloop/shared';
import { z } from 'zod';
import type { PipelineSettingsView } from '../pipelines/pipeline-settings.service';
import { getPipelineSettings } from '../pipelines/pipeline-settings.service';
import { savePipelineSettings } from '../pipelines/pipeline-trigger.service';
import {
  type PipelineRunDetail,
  type PipelineRunSummary,
  cancelPipelineRun,
  getPipelineRun,
  listPipelineRuns,
  projectOfPipelineRun,
  resumePipelineRun,
  startPipelineRun,
} from '../pipelines/pipeline.service';
import { projectInput as project } from './inputs';
import { procedureFor, projectOf, router } from './trpc';

const pipelineRunId = z.uuid('pipelineRunId must be a pipeline run id (uuid)');
const ofPipelineRun = projectOf('pipelineRunId', projectOfPipelineRun);

/**
 * The retraining pipeline. Admin and engineer do everything; ci starts runs and follows them (the CLI's
 * `edgeloop pipeline run --wait`); labelers and devices have no part in it.
 */
export const pipelineRouter = router({
  settings: router({
    get: procedureFor('admin', 'engineer')
      .input(z.object({ project }))
      .query(({ ctx, input }): Promise<PipelineSettingsView> => getPipelineSettings(ctx.deps, input)),
    /** Replaces the project's settings (sections left out take their defaults) and its cron schedule. */
    set: procedureFor('admin', 'engineer')
      .input(z.object({ project, settings: pipelineSettingsSchema }))
      .mutation(({ ctx, input }): Promise<PipelineSettingsView> => savePipelineSettings(ctx.deps, ctx.caller, input)),
  }),
  /** Starts a run for the model's channel (defaults: the settings'); CONFLICT while one of that channel runs. */
  start: procedureFor('admin', 'engineer', 'ci')
    .input(z.object({ project, model: modelNameSchema.optional(), channel: channelNameSchema.optional(), note: text(200).optional() }))
    .mutation(({ ctx, input }): Promise<PipelineRunSummary> => {
      const trigger = ctx.caller.role === 'ci' ? 'ci' : 'manual';
      const triggerDetail = `${trigger === 'ci' ? 'CI' : 'by hand'}: ${ctx.caller.name}${input.note ? ` (${input.note})` : ''}`;
      return startPipelineRun(ctx.deps, ctx.caller, { project: input.project, model: input.model, channel: input.channel, trigger, triggerDetail });
    }),
  /** The project's runs, newest first, a page at a time. */
  list: procedureFor('admin', 'engineer', 'ci')
    .input(z.object({ project, limit: z.number().int().min(1).max(100).default(20), offset: z.number().int().min(0).max(100_000).default(0) }))
    .query(({ ctx, input }): Promise<{ runs: PipelineRunSummary[]; more: boolean }> => listPipelineRuns(ctx.deps, input)),
  /** A run with its steps (state, attempts, timings, reuse, error, last log lines), the evaluation and the gate's verdict. */
  get: procedureFor(ofPipelineRun, 'admin', 'engineer', 'ci')
    .input(z.object({ pipelineRunId, logLines: z.number().int().min(0).max(500).default(20) }))
    .query(({ ctx, input }): Promise<PipelineRunDetail> => getPipelineRun(ctx.deps, { runId: input.pipelineRunId, logLines: input.logLines })),
  /** A failed run goes on from its failed step. */
  resume: procedureFor(ofPipelineRun, 'admin', 'engineer')
    .input(z.object({ pipelineRunId }))
    .mutation(({ ctx, input }): Promise<PipelineRunSummary> => resumePipelineRun(ctx.deps, ctx.caller, input.pipelineRunId)),
  cancel: procedureFor(ofPipelineRun, 'admin', 'engineer')
    .input(z.object({ pipelineRunId }))
    .mutation(({ ctx, input }): Promise<PipelineRunSummary> => cancelPipelineRun(ctx.deps, ctx.caller, input.pipelineRunId)),
});
