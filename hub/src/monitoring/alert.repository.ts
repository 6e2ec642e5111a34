/**
 * The alerts table: a detector's alarm that passed its effect gate, open until its statistic stays below its
 * threshold long enough. One open alert per (stream, detector): the update job holds the stream's advisory lock
 * while it checks and opens, so two updates cannot both open one.
 */
import { type AlertExplanation, alertExplanationSchema } from '@edgeloop/shared';
import { and, desc, eq } from 'drizzle-orm';
import type { Database } from '../db/database';
import { alerts, modelVersions, monitorStreams, projects, registeredModels } from '../db/schema';
import { parseStored } from '../db/stored-json';

export type AlertStatus = 'open' | 'resolved';
export type Alert = Omit<typeof alerts.$inferSelect, 'status' | 'explanation'> & { status: AlertStatus; explanation: AlertExplanation };
export type AlertWithStream = Alert & { model: string; version: number; channel: string };

const read = <R extends typeof alerts.$inferSelect>(row: R): Omit<R, 'status' | 'explanation'> & { status: AlertStatus; explanation: AlertExplanation } => ({
  ...row,
  status: row.status as AlertStatus,
  explanation: parseStored(alertExplanationSchema, row.explanation, `alert ${row.id} explanation`),
});

export async function openAlert(
  db: Database,
  alert: { projectId: string; streamId: string; detector: string; at: Date; event: number; statistic: number; threshold: number; explanation: AlertExplanation },
): Promise<Alert> {
  const [row] = await db
    .insert(alerts)
    .values({
      projectId: alert.projectId,
      streamId: alert.streamId,
      detector: alert.detector,
      status: 'open',
      openedAt: alert.at,
      openedAtEvent: alert.event,
      statistic: alert.statistic,
      threshold: alert.threshold,
      explanation: alertExplanationSchema.parse(alert.explanation),
    })
    .returning();
  return read(row!);
}

/** Resolves an open alert; false when it was not open. */
export async function resolveAlert(db: Database, id: string, at: Date): Promise<boolean> {
  const rows = await db
    .update(alerts)
    .set({ status: 'resolved', resolvedAt: at })
    .where(and(eq(alerts.id, id), eq(alerts.status, 'open')))
    .returning({ id: alerts.id });
  return rows.length === 1;
}

/** The stream's open alerts (at most one per detector). */
export async function openOfStream(db: Database, streamId: string): Promise<Alert[]> {
  const rows = await db.select().from(alerts).where(and(eq(alerts.streamId, streamId), eq(alerts.status, 'open')));
  return rows.map(read);
}

/** The project's alerts, newest first, with their stream's model, version and channel. */
export async function listOfProject(db: Database, input: { projectId: string; status: AlertStatus | null; limit: number }): Promise<AlertWithStream[]> {
  const rows = await db
    .select({ alert: alerts, model: registeredModels.name, version: modelVersions.version, channel: monitorStreams.channel })
    .from(alerts)
    .innerJoin(monitorStreams, eq(monitorStreams.id, alerts.streamId))
    .innerJoin(modelVersions, eq(modelVersions.id, monitorStreams.modelVersionId))
    .innerJoin(registeredModels, eq(registeredModels.id, modelVersions.modelId))
    .where(and(eq(alerts.projectId, input.projectId), input.status ? eq(alerts.status, input.status) : undefined))
    .orderBy(desc(alerts.openedAt), desc(alerts.id))
    .limit(input.limit);
  return rows.map(({ alert, ...stream }) => ({ ...read(alert), ...stream }));
}

/** One alert with its stream's model, version and channel and its project's slug; null when it no longer exists. */
export async function findWithStream(db: Database, id: string): Promise<(AlertWithStream & { projectSlug: string }) | null> {
  const [row] = await db
    .select({ alert: alerts, model: registeredModels.name, version: modelVersions.version, channel: monitorStreams.channel, projectSlug: projects.slug })
    .from(alerts)
    .innerJoin(projects, eq(projects.id, alerts.projectId))
    .innerJoin(monitorStreams, eq(monitorStreams.id, alerts.streamId))
    .innerJoin(modelVersions, eq(modelVersions.id, monitorStreams.modelVersionId))
    .innerJoin(registeredModels, eq(registeredModels.id, modelVersions.modelId))
    .where(eq(alerts.id, id));
  if (!row) return null;
  const { alert, ...rest } = row;
  return { ...read(alert), ...rest };
}

/**
 * Records how the alert's last webhook call went: `delivered <status> at <iso>`, `failed: <status or reason>` or
 * `skipped` (no webhook URL any more). Only the delivery job writes it; it never holds the secret or the body.
 */
export async function recordWebhookStatus(db: Database, id: string, status: string): Promise<void> {
  await db.update(alerts).set({ webhookStatus: status.slice(0, 500) }).where(eq(alerts.id, id));
}
