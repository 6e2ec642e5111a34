import { SEQUENTIAL_DETECTORS, channelNameSchema, clientTimeSchema, modelNameSchema, monitorSettingsSchema, versionNumberSchema } from '@edgeloop/shared';
import { z } from 'zod';
import { type AlertSummary, type MonitorState, type SeriesPoint, listAlerts, monitorSeries, monitorState } from '../monitoring/monitor-query.service';
import { type MonitorSettingsSaved, type MonitorSettingsView, getMonitorSettings, setMonitorSettings } from '../monitoring/monitor-settings.service';
import { type ProfileAnswer, referenceProfileOf } from '../monitoring/reference-profile.service';
import { type WebhookTestAnswer, testWebhook } from '../monitoring/webhook.service';
import { projectInput as project } from './inputs';
import { procedureFor, router } from './trpc';

// --- Stream monitors --------------------------------------------------------------------------------------------
/**
 * Who reads monitoring: admin, engineer and ci (a pipeline gates a promotion on open alerts). Not labelers: the state
 * names devices, app versions and backends, which labeling does not need; not devices.
 */
const MONITOR_READERS = ['admin', 'engineer', 'ci'] as const;
const settingsFields = monitorSettingsSchema.shape;
const webhookUrl = z
  .url({ protocol: /^https?$/, error: 'webhookUrl must be an http or https URL, such as https://hooks.example.com/edgeloop' })
  .max(2000, 'webhookUrl: at most 2000 characters');

const monitorProcedures = {
  /** Per stream (model, version, channel): events, the snapshot, detectors against thresholds, open alerts; the project's last 24 h. */
  state: procedureFor(...MONITOR_READERS)
    .input(z.object({ project }))
    .query(({ ctx, input }): Promise<MonitorState> => monitorState(ctx.deps, input)),
  /** One detector's statistic and threshold over a stream's events, at most maxPoints (downsampled keeping the peaks). */
  series: procedureFor(...MONITOR_READERS)
    .input(
      z.object({
        project,
        model: modelNameSchema,
        version: versionNumberSchema,
        channel: channelNameSchema.default('production'),
        detector: z.enum(SEQUENTIAL_DETECTORS, { error: `detector must be one of ${SEQUENTIAL_DETECTORS.join(', ')}` }),
        from: clientTimeSchema.optional(),
        to: clientTimeSchema.optional(),
        maxPoints: z.number().int().min(2).max(2000).default(500),
      }),
    )
    .query(({ ctx, input }): Promise<SeriesPoint[]> => monitorSeries(ctx.deps, input)),
  /** The project's alerts, newest first. */
  alerts: procedureFor(...MONITOR_READERS)
    .input(z.object({ project, status: z.enum(['open', 'resolved'], { error: 'status must be open or resolved' }).optional(), limit: z.number().int().min(1).max(500).default(50) }))
    .query(({ ctx, input }): Promise<AlertSummary[]> => listAlerts(ctx.deps, input)),
  settings: router({
    get: procedureFor(...MONITOR_READERS)
      .input(z.object({ project }))
      .query(({ ctx, input }): Promise<MonitorSettingsView> => getMonitorSettings(ctx.deps, input)),
    /**
     * Changes the fields given; webhookUrl null removes the webhook. A call that sets a webhook URL answers the
     * project's signing secret too (webhookSecret), so the engineer can configure the receiver; get never shows it.
     */
    set: procedureFor('admin', 'engineer')
      .input(
        z.object({
          project,
          minTotalVariation: settingsFields.minTotalVariation.unwrap().optional(),
          minAccuracyDrop: settingsFields.minAccuracyDrop.unwrap().optional(),
          deviceCap: settingsFields.deviceCap.unwrap().optional(),
          reviewRate: settingsFields.reviewRate.unwrap().optional(),
          uniformShare: settingsFields.uniformShare.unwrap().optional(),
          webhookUrl: webhookUrl.nullable().optional(),
        }),
      )
      .mutation(({ ctx, input }): Promise<MonitorSettingsSaved> => setMonitorSettings(ctx.deps, ctx.caller, input)),
  }),
  /** Posts a signed ping to the project's webhook URL and answers whether the receiver took it (2xx) or why not. */
  testWebhook: procedureFor('admin', 'engineer')
    .input(z.object({ project }))
    .mutation(({ ctx, input }): Promise<WebhookTestAnswer> => testWebhook(ctx.deps, input)),
};
// --- end of stream monitors -------------------------------------------------------------------------------------

export const monitoringRouter = router({
  // --- Reference profiles ---------------------------------------------------------------------------------------
  /**
   * A model version's reference profile: computing, failed (with why) or ready (the summary: test accuracy,
   * confusion, calibration, detector thresholds). Asking for one that does not exist yet starts it (versions published
   * before profiles existed). Admin, engineer and ci read it as they read the registry's versions; labelers and
   * devices see no model metrics.
   */
  profile: procedureFor('admin', 'engineer', 'ci')
    .input(z.object({ project, model: modelNameSchema, version: versionNumberSchema }))
    .query(({ ctx, input }): Promise<ProfileAnswer> => referenceProfileOf(ctx.deps, input)),
  // --- end of reference profiles ----------------------------------------------------------------------------------
  ...monitorProcedures,
});
