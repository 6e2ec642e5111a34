/** Finding a project's registered model and one of its versions, or a NOT_FOUND naming what is missing. */
import type { HubDeps } from '../deps';
import { notFound } from '../errors';
import { getProject } from '../projects/project.service';
import * as models from './model-version.repository';

export interface ModelRef {
  project: string;
  model: string;
}

export async function requireModel(deps: HubDeps, ref: ModelRef) {
  const project = await getProject(deps, ref.project);
  const model = await models.findModel(deps.db, project.id, ref.model);
  if (!model) throw notFound(`project "${ref.project}" has no registered model "${ref.model}"`);
  return { project, model };
}

export async function requireVersion(deps: HubDeps, modelId: string, ref: ModelRef, version: number) {
  const row = await models.findVersion(deps.db, modelId, version);
  if (!row) throw notFound(`model "${ref.model}" has no version ${version}`);
  return row;
}

/** The project, the model and the version row that `ref` names. */
export async function requireModelVersion(deps: HubDeps, ref: ModelRef & { version: number }) {
  const { project, model } = await requireModel(deps, ref);
  return { project, model, version: await requireVersion(deps, model.id, ref, ref.version) };
}
