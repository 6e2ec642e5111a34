/**
 * A pipeline run as its steps see it (PipelineRunView): the stored run with its project's slug and its model's name;
 * and a finished step's outputs, read through its schema.
 */
import { PIPELINE_STEP_OUTPUT_SCHEMAS, type PipelineStep, type PipelineStepOutputs } from '@edgeloop/shared';
import type { HubDeps } from '../deps';
import { notFound } from '../errors';
import { getProjectById } from '../projects/project.service';
import * as models from '../registry/model-version.repository';
import type { PipelineRunView } from './pipeline-step';
import * as pipelineRuns from './pipeline-run.repository';
import type { PipelineStepRow } from './pipeline-run.repository';

export async function runViewOf(deps: HubDeps, runId: string): Promise<PipelineRunView> {
  const run = await pipelineRuns.find(deps.db, runId);
  if (!run) throw notFound(`no pipeline run ${runId}`);
  const project = await getProjectById(deps, run.projectId);
  const model = (await models.listModels(deps.db, project.id)).find((m) => m.id === run.modelId);
  if (!model) throw notFound(`pipeline run ${runId}: its model no longer exists`);
  if (!run.championVersionId) throw notFound(`pipeline run ${runId} has no champion version`);
  return {
    id: run.id,
    projectId: project.id,
    project: project.slug,
    modelId: model.id,
    model: model.name,
    channel: run.channel,
    championVersionId: run.championVersionId,
    settings: run.config.settings,
    createdBy: run.createdBy,
  };
}

/** The outputs of a run's step that succeeded or was skipped (reusing another run's), or null when it has none. */
export function finishedOutputs<S extends PipelineStep>(steps: readonly PipelineStepRow[], step: S): PipelineStepOutputs[S] | null {
  const row = steps.find((s) => s.step === step && (s.status === 'succeeded' || s.status === 'skipped'));
  const parsed = row ? PIPELINE_STEP_OUTPUT_SCHEMAS[step].safeParse(row.outputs) : null;
  return parsed?.success ? (parsed.data as PipelineStepOutputs[S]) : null;
}
