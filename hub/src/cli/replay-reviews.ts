/**
 * `edgeloop replay --review-rate r`: the folder's labels answer the hub's review queue. Replay sets the project's
 * review rate to r, and once the hub's monitor has processed the replayed events (its review policy decides, per
 * event, whether it is queued), takes the queue's items among the replayed predictions (feedback.nextReviews, in the
 * policy's order) and answers each with its image's folder label, carrying the assignment id, so the labels count in
 * the hub's unbiased estimates of accuracy. Which predictions are reviewed is the hub's choice alone.
 */
import { type CorrectionEvent, MAX_SYNC_BATCH, type ReviewComponent } from '@edgeloop/shared';
import { HubError } from '../errors';
import type { RemoteHub } from './remote-hub';

/** The roles that may change a project's review rate (monitoring.settings.set). */
export const REVIEW_RATE_ROLES = ['admin', 'engineer'] as const;
/** feedback.nextReviews' page size and the most prediction ids it chooses among per call. */
const PAGE = 50;
const CANDIDATES_PER_CALL = 500;
/** How often the monitor's progress is read while waiting. */
const POLL_MS = 1_000;

export interface ReviewStream {
  project: string;
  model: string;
  version: number;
  channel: string;
}

/** How far the hub's monitor got with the replayed events. */
export interface MonitorWait {
  /** Replayed events new to the hub (duplicates were processed before). */
  expected: number;
  /** Of those, processed when the wait ended. */
  processed: number;
  caughtUp: boolean;
  seconds: number;
  /** Why the monitor could not go on (a failed reference profile); null otherwise. */
  stalled: string | null;
}

/** Refuses, before anything is classified, a token that may not set the review rate. */
export async function checkReviewToken(hub: RemoteHub): Promise<void> {
  const me = await hub.auth.whoami.query();
  if (!(REVIEW_RATE_ROLES as readonly string[]).includes(me.role)) {
    throw new HubError('FORBIDDEN', `--review-rate sets the project's review rate, which needs an engineer or admin token; this is a ${me.role} token ("${me.name}")`);
  }
}

/** Sets the project's review rate; returns the rate it had. */
export async function setReviewRate(hub: RemoteHub, project: string, reviewRate: number): Promise<number> {
  const before = await hub.monitoring.settings.get.query({ project });
  await hub.monitoring.settings.set.mutate({ project, reviewRate });
  return before.reviewRate;
}

/** Events the hub's monitor has processed on the stream (0 before its first update). */
export async function processedEvents(hub: RemoteHub, stream: ReviewStream): Promise<number> {
  const state = await hub.monitoring.state.query({ project: stream.project });
  return state.streams.find((s) => s.model === stream.model && s.version === stream.version && s.channel === stream.channel)?.events ?? 0;
}

/**
 * Waits until the stream's processed events reach `before + expected` or `timeoutSeconds` pass. The monitor reads
 * events in arrival order, so this assumes it had caught up with older events when `before` was read; if not, the
 * wait ends early, and the queue items not made yet are answered by running the same command again.
 */
export async function waitForMonitor(
  hub: RemoteHub,
  stream: ReviewStream,
  input: { before: number; expected: number; timeoutSeconds: number; onProgress?: (processed: number, expected: number) => void },
): Promise<MonitorWait> {
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  if (input.expected === 0) return { expected: 0, processed: 0, caughtUp: true, seconds: 0, stalled: null };
  let processed = 0;
  for (;;) {
    processed = Math.min(input.expected, Math.max(0, (await processedEvents(hub, stream)) - input.before));
    input.onProgress?.(processed, input.expected);
    if (processed >= input.expected) return { expected: input.expected, processed, caughtUp: true, seconds: seconds(), stalled: null };
    // Without a ready reference profile the monitor processes nothing: a failed one will not become ready by waiting.
    const profile = await hub.monitoring.profile.query({ project: stream.project, model: stream.model, version: stream.version });
    if (profile.status === 'failed') {
      const stalled = `the reference profile of ${stream.model} v${stream.version} failed${profile.error ? ` (${profile.error})` : ''}, so the hub's monitor does not process its events`;
      return { expected: input.expected, processed, caughtUp: false, seconds: seconds(), stalled };
    }
    if (seconds() >= input.timeoutSeconds) return { expected: input.expected, processed, caughtUp: false, seconds: seconds(), stalled: null };
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

export interface ReviewAnswers {
  /** The policy the hub named; null when it was never asked. */
  policy: string | null;
  /** Queue items the hub gave for the replayed predictions, by the policy's component. */
  asked: number;
  components: Record<ReviewComponent, number>;
}

/**
 * Takes the queue's items among `labels`' predictions, a page at a time, and answers each with its label through
 * `send` (one syncCorrections call per page). A correction's id derives from its assignment: a rerun resends the
 * same label as a duplicate. Stops for a set of ids when a page brings nothing new (an answer the hub refused keeps its
 * item shown to the caller: asking again would bring it back forever).
 */
export async function answerReviews(
  hub: RemoteHub,
  input: { project: string; labels: Map<string, string>; correctionId: (assignmentId: string) => string },
  send: (corrections: CorrectionEvent[]) => Promise<void>,
): Promise<ReviewAnswers> {
  const ids = [...input.labels.keys()];
  const seen = new Set<string>();
  const components: Record<ReviewComponent, number> = { uniform: 0, uncertainty: 0 };
  let policy: string | null = null;
  for (let from = 0; from < ids.length; from += CANDIDATES_PER_CALL) {
    const predictionIds = ids.slice(from, from + CANDIDATES_PER_CALL);
    for (;;) {
      const page = await hub.feedback.nextReviews.mutate({ project: input.project, limit: PAGE, predictionIds });
      policy = page.policy;
      const fresh = page.reviews.filter((r) => !seen.has(r.assignmentId));
      if (fresh.length === 0) break;
      const createdAt = new Date().toISOString();
      const corrections = fresh.map((r) => {
        seen.add(r.assignmentId);
        components[r.component]++;
        return { id: input.correctionId(r.assignmentId), predictionId: r.predictionId, label: input.labels.get(r.predictionId)!, createdAt, assignmentId: r.assignmentId };
      });
      for (let i = 0; i < corrections.length; i += MAX_SYNC_BATCH) await send(corrections.slice(i, i + MAX_SYNC_BATCH));
    }
  }
  return { policy, asked: seen.size, components };
}
