/**
 * Alert webhooks: when an update opens or resolves alerts and the project has a webhook URL, one monitor.webhook job
 * per alert and event is sent after the update's transaction has committed; the job posts the alert as signed JSON
 *   { type: 'alert.opened' | 'alert.resolved', project: <slug>, alert: <AlertSummary>, sentAt: <iso> }
 * with x-edgeloop-signature (webhook-signing.ts), and records how it went on the alert (webhook_status). A failure
 * throws, so pg-boss retries with backoff; the last failure stays recorded. The URL is read when the job runs: a
 * webhook removed meanwhile is skipped. Neither the secret nor the URL is logged or stored with the status (a URL may
 * carry a token of its own, as chat webhooks do).
 */
import { type MonitorWebhookJob, type WebhookEvent, monitorWebhookJobSchema } from '@edgeloop/shared';
import type { HubDeps } from '../deps';
import { getProject } from '../projects/project.service';
import { QUEUES } from '../jobs/job-queue';
import * as alerts from './alert.repository';
import { type AlertSummary, alertSummary } from './monitor-query.service';
import * as settingsStore from './monitor-settings.repository';
import { WEBHOOK_SIGNATURE_HEADER, signWebhook, webhookSecret } from './webhook-signing';

/** A receiver must answer within this long; slower counts as a failure (and is retried). */
export const WEBHOOK_TIMEOUT_MS = 10_000;
/** The largest body posted; an alert's explanation is a few KiB, so only a pathological one could reach it. */
export const WEBHOOK_MAX_BODY_BYTES = 1 << 20;
/** Tries after the first, spaced by pg-boss's exponential backoff from RETRY_DELAY_SECONDS (about 30 min in all). */
export const WEBHOOK_RETRY_LIMIT = 6;
const RETRY_DELAY_SECONDS = 15;

export interface AlertWebhookBody {
  type: `alert.${WebhookEvent}`;
  project: string;
  alert: AlertSummary;
  sentAt: string;
}

/** What a post came to: delivered (2xx) or why not, in a few words fit for the alert's status. */
export type PostOutcome = { delivered: true; status: number } | { delivered: false; status: number | null; reason: string };

/**
 * Sends one monitor.webhook job per alert opened and resolved, when the project has a webhook URL. Call it after the
 * transaction that opened or resolved them has committed: the job may run at once and must find them.
 */
export async function requestAlertWebhooks(deps: HubDeps, projectId: string, changes: { opened: readonly { id: string }[]; resolved: readonly string[] }): Promise<number> {
  const jobs: MonitorWebhookJob[] = [
    ...changes.opened.map((a) => ({ alertId: a.id, event: 'opened' as const })),
    ...changes.resolved.map((alertId) => ({ alertId, event: 'resolved' as const })),
  ];
  if (!jobs.length) return 0;
  const settings = await settingsStore.settingsOf(deps.db, projectId);
  if (!settings?.webhookUrl) return 0;
  for (const job of jobs) {
    await deps.queue.send(QUEUES.monitorWebhook, monitorWebhookJobSchema.parse(job), {
      retryLimit: WEBHOOK_RETRY_LIMIT,
      retryDelay: RETRY_DELAY_SECONDS,
      retryBackoff: true,
      expireInMinutes: 2,
    });
  }
  return jobs.length;
}

/** Posts a body signed with the project's secret. Redirects are not followed (a redirect is a failure). */
export async function postSigned(deps: HubDeps, input: { url: string; projectId: string; body: string; at: Date; timeoutMs?: number }): Promise<PostOutcome> {
  const timeoutMs = input.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  const bytes = Buffer.byteLength(input.body);
  if (bytes > WEBHOOK_MAX_BODY_BYTES) return { delivered: false, status: null, reason: `payload of ${bytes} bytes is over the ${WEBHOOK_MAX_BODY_BYTES} byte limit` };
  const signature = signWebhook(webhookSecret(deps.keys.dir, input.projectId), input.body, input.at);
  let response: Response;
  try {
    response = await fetch(input.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'edgeloop-hub', [WEBHOOK_SIGNATURE_HEADER]: signature },
      body: input.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    return { delivered: false, status: null, reason: unreachable(error, timeoutMs) };
  }
  // The answer's body means nothing to the hub: it is dropped unread, so a receiver cannot make the hub hold much.
  await response.body?.cancel().catch(() => undefined);
  if (response.status >= 200 && response.status < 300) return { delivered: true, status: response.status };
  if (response.status >= 300 && response.status < 400) return { delivered: false, status: response.status, reason: `${response.status} (a redirect, not followed: set the final URL)` };
  return { delivered: false, status: response.status, reason: String(response.status) };
}

/** A short reason without the URL (fetch's messages may name it): the timeout, or the network error's code. */
function unreachable(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return `no answer within ${timeoutMs / 1000} s`;
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' && /^[A-Z_0-9]{2,40}$/.test(cause.code) ? cause.code : 'network error';
  return `cannot reach the receiver (${code})`;
}

export type WebhookJobOutcome = { status: 'delivered'; httpStatus: number } | { status: 'skipped' | 'missing' };

/** Thrown when a post failed, so that pg-boss retries the job; the reason is already recorded on the alert. */
export class WebhookDeliveryError extends Error {}

/** The monitor.webhook job: posts the alert's change, records the outcome, throws on failure (retried). */
export async function deliverAlertWebhook(deps: HubDeps, data: unknown): Promise<WebhookJobOutcome> {
  const job = monitorWebhookJobSchema.parse(data);
  const alert = await alerts.findWithStream(deps.db, job.alertId);
  if (!alert) return { status: 'missing' };
  const url = (await settingsStore.settingsOf(deps.db, alert.projectId))?.webhookUrl;
  if (!url) {
    await alerts.recordWebhookStatus(deps.db, alert.id, 'skipped');
    return { status: 'skipped' };
  }
  const at = deps.now();
  const body: AlertWebhookBody = { type: `alert.${job.event}`, project: alert.projectSlug, alert: alertSummary(alert), sentAt: at.toISOString() };
  const outcome = await postSigned(deps, { url, projectId: alert.projectId, body: JSON.stringify(body), at });
  if (outcome.delivered) {
    await alerts.recordWebhookStatus(deps.db, alert.id, `delivered ${outcome.status} at ${at.toISOString()}`);
    return { status: 'delivered', httpStatus: outcome.status };
  }
  await alerts.recordWebhookStatus(deps.db, alert.id, `failed: ${outcome.reason}`);
  const message = `webhook of ${alert.projectSlug} for alert ${alert.id} (${job.event}) failed: ${outcome.reason}`;
  deps.log.warn(message);
  throw new WebhookDeliveryError(message);
}

export interface WebhookTestAnswer {
  delivered: boolean;
  /** The receiver's HTTP status; null when it could not be reached or none is set. */
  status: number | null;
  /** What happened, in words. */
  detail: string;
}

/**
 * Posts a signed `{ type: 'ping', project, sentAt }` to the project's webhook URL, so an engineer can check the
 * receiver (its signature check included) without waiting for an alert. Only the stored URL is posted to.
 */
export async function testWebhook(deps: HubDeps, input: { project: string }): Promise<WebhookTestAnswer> {
  const project = await getProject(deps, input.project);
  const url = (await settingsStore.settingsOf(deps.db, project.id))?.webhookUrl;
  if (!url) return { delivered: false, status: null, detail: `"${project.slug}" has no webhook URL: set webhookUrl in its monitoring settings first` };
  const at = deps.now();
  const outcome = await postSigned(deps, { url, projectId: project.id, body: JSON.stringify({ type: 'ping', project: project.slug, sentAt: at.toISOString() }), at });
  return outcome.delivered
    ? { delivered: true, status: outcome.status, detail: `delivered: the receiver answered ${outcome.status}` }
    : { delivered: false, status: outcome.status, detail: `not delivered: ${outcome.reason}` };
}
