/** A project's retraining settings: triggers, the holdout, warm start, the gate's margins and the staged rollout. */
import { DEFAULT_PIPELINE_SETTINGS, type PipelineSettings, type PipelineSettingsInput, pipelineSettingsSchema } from '@edgeloop/shared';
import type { Caller, HubDeps } from '../deps';
import { getProject } from '../projects/project.service';
import * as settingsStore from './pipeline-settings.repository';

export interface PipelineSettingsView {
  settings: PipelineSettings;
  /** Who stored them and when; null while the project uses the defaults. */
  updatedBy: string | null;
  updatedAt: string | null;
}

/** The settings the pipeline and the canary checks use for a project (the defaults when none are stored). */
export async function pipelineSettingsOf(deps: HubDeps, projectId: string): Promise<PipelineSettings> {
  return (await settingsStore.settingsOf(deps.db, projectId))?.settings ?? DEFAULT_PIPELINE_SETTINGS;
}

export async function getPipelineSettings(deps: HubDeps, input: { project: string }): Promise<PipelineSettingsView> {
  const project = await getProject(deps, input.project);
  const stored = await settingsStore.settingsOf(deps.db, project.id);
  return { settings: stored?.settings ?? DEFAULT_PIPELINE_SETTINGS, updatedBy: stored?.updatedBy ?? null, updatedAt: stored?.updatedAt.toISOString() ?? null };
}

/** Replaces the project's settings; sections left out take their defaults. */
export async function setPipelineSettings(deps: HubDeps, caller: Caller, input: { project: string; settings: PipelineSettingsInput }): Promise<PipelineSettingsView> {
  const project = await getProject(deps, input.project);
  await settingsStore.saveSettings(deps.db, project.id, pipelineSettingsSchema.parse(input.settings), { name: caller.name, at: deps.now() });
  return getPipelineSettings(deps, input);
}
