/** A project's monitoring settings: effect sizes worth an alert, the device cap, the review rate, a webhook URL. */
import { type MonitorSettings, monitorSettingsSchema } from '@edgeloop/shared';
import type { Caller, HubDeps } from '../deps';
import { getProject } from '../projects/project.service';
import * as settingsStore from './monitor-settings.repository';
import { webhookSecret } from './webhook-signing';

export interface MonitorSettingsView extends MonitorSettings {
  webhookUrl: string | null;
  /** Who stored them and when; null while the project uses the defaults. */
  updatedBy: string | null;
  updatedAt: string | null;
}

function view(stored: settingsStore.StoredMonitorSettings | null): MonitorSettingsView {
  if (!stored) return { ...monitorSettingsSchema.parse({}), webhookUrl: null, updatedBy: null, updatedAt: null };
  const { webhookUrl, updatedBy, updatedAt, ...values } = stored;
  return { ...monitorSettingsSchema.parse(values), webhookUrl, updatedBy, updatedAt: updatedAt.toISOString() };
}

export async function getMonitorSettings(deps: HubDeps, input: { project: string }): Promise<MonitorSettingsView> {
  const project = await getProject(deps, input.project);
  return view(await settingsStore.settingsOf(deps.db, project.id));
}

/** What settings.set answers: the settings, and the webhook's signing secret when this call set a webhook URL. */
export interface MonitorSettingsSaved extends MonitorSettingsView {
  /**
   * The project's webhook signing secret (64 hex characters), for the receiver to check x-edgeloop-signature; only
   * in the answer of a call that sets a webhook URL (settings.get never shows it), null otherwise.
   */
  webhookSecret: string | null;
}

/** Changes the fields given; the others keep their stored (or default) values. webhookUrl null removes the webhook. */
export async function setMonitorSettings(
  deps: HubDeps,
  caller: Caller,
  input: { project: string; webhookUrl?: string | null } & Partial<MonitorSettings>,
): Promise<MonitorSettingsSaved> {
  const project = await getProject(deps, input.project);
  const current = view(await settingsStore.settingsOf(deps.db, project.id));
  const { project: _, webhookUrl, ...changes } = input;
  const values = monitorSettingsSchema.parse({
    minTotalVariation: changes.minTotalVariation ?? current.minTotalVariation,
    minAccuracyDrop: changes.minAccuracyDrop ?? current.minAccuracyDrop,
    deviceCap: changes.deviceCap ?? current.deviceCap,
    reviewRate: changes.reviewRate ?? current.reviewRate,
    uniformShare: changes.uniformShare ?? current.uniformShare,
  });
  await settingsStore.saveSettings(deps.db, project.id, { ...values, webhookUrl: webhookUrl === undefined ? current.webhookUrl : webhookUrl }, { name: caller.name, at: deps.now() });
  // Made on first use and the same afterwards: setting the URL again shows the same secret, it does not rotate it.
  const secret = webhookUrl ? webhookSecret(deps.keys.dir, project.id) : null;
  return { ...view(await settingsStore.settingsOf(deps.db, project.id)), webhookSecret: secret };
}
