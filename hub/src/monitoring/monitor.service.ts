/**
 * Stream monitors: each (model version, channel) stream reads its new predictions in arrival order from a cursor,
 * feeds them to the shared StreamMonitor restored from its stored state, and stores in one transaction what came of
 * them: the new state, snapshot and cursor, the detectors' points, per-minute rollups, and alerts opened or resolved.
 * The monitor.update job (monitor.job.ts) calls processStream; tests and benchmarks call it directly.
 */
import {
  type AlertExplanation,
  type MonitorSettings,
  type MonitorSnapshot,
  NO_FOCUS,
  type ReferenceProfile,
  type ReviewFocus,
  SEQUENTIAL_DETECTORS,
  type SequentialDetector,
  StreamMonitor,
  alertDecisions,
  embeddingFromBytes,
  monitorSettingsSchema,
  reviewFocusFromAlerts,
} from '@edgeloop/shared';
import { withAdvisoryLock } from '../db/advisory-lock';
import type { Database } from '../db/database';
import type { HubDeps } from '../deps';
import * as feedback from '../feedback/feedback.repository';
import { type AssignReviewsInput, assignReviews, reviewDrawSecret } from '../feedback/review-assignment.service';
import { CONTRIBUTOR_HISTORY, type Sender, alertContributors } from './alert-contributors';
import * as alerts from './alert.repository';
import * as points from './monitor-point.repository';
import * as rollups from './monitor-rollup.repository';
import * as settingsStore from './monitor-settings.repository';
import * as streams from './monitor-stream.repository';
import { type EnsuredProfile, ensureReferenceProfile } from './reference-profile.service';
import { RollupAccumulator } from './rollup-accumulator';

/**
 * Events younger than this stay for the next update. received_at is the database's now() when the syncing
 * transaction began, and that transaction commits later; a sync statement times out after 5 s, so every event stamped
 * before now() - 5 s has committed (or never will). Reading younger ones could move the cursor past an event whose
 * transaction began earlier but commits later, and that event would never be read.
 */
export const HOLD_BACK_SECONDS = 5;
/** Events read and stored per transaction: bounds its time (about 0.1 s per 1,000) and the state it holds. */
export const EVENTS_PER_TRANSACTION = 2_000;
/** A point per detector every this many admitted events (and at every alarm). */
export const POINT_EVERY = 10;

/** Finds a version's profile and, when it has none yet, starts computing it (the profile owner's ensureReferenceProfile). */
export type ProfileSource = (deps: HubDeps, modelVersionId: string) => Promise<EnsuredProfile>;

export interface ProcessOptions {
  /** Reads events received before now - HOLD_BACK_SECONDS; default: the database's clock. */
  now?: Date;
  /** Events in this transaction, at most EVENTS_PER_TRANSACTION. */
  limit?: number;
  /** Where profiles come from: the profile owner by default (which starts computing a missing one). */
  profiles?: ProfileSource;
}

export interface OpenedAlert {
  id: string;
  detector: SequentialDetector;
  effect: string;
}

export type ProcessOutcome =
  | { status: 'missing' }
  | { status: 'waiting-for-profile'; profile: 'computing' | 'failed'; error: string | null }
  | {
      status: 'processed';
      /** Events read now; admitted by the device cap; skipped as unreadable (a label or embedding size the model lacks). */
      events: number;
      admitted: number;
      skipped: number;
      opened: OpenedAlert[];
      resolved: string[];
      /** The transaction was full: more events may be ready now. */
      more: boolean;
      /** Events after the cursor exist that are too young to read yet: update again after HOLD_BACK_SECONDS. */
      pending: boolean;
    };

/** A stream's state was saved by someone else since this update read it (the lock should prevent it). */
export class StaleStreamError extends Error {}

/** A project's settings, the defaults where it stored none. */
export async function monitorSettingsOf(db: Database, projectId: string): Promise<MonitorSettings> {
  const stored = await settingsStore.settingsOf(db, projectId);
  if (!stored) return monitorSettingsSchema.parse({});
  return monitorSettingsSchema.parse({
    minTotalVariation: stored.minTotalVariation,
    minAccuracyDrop: stored.minAccuracyDrop,
    deviceCap: stored.deviceCap,
    reviewRate: stored.reviewRate,
    uniformShare: stored.uniformShare,
  });
}

/**
 * Brings one stream up to date by at most `limit` events, under the stream's advisory lock: two calls at once (two
 * workers, two replicas) run one after the other, and the second starts from the first one's cursor, so each event is
 * processed exactly once. Without a ready profile nothing moves (the profile owner is asked to compute it).
 */
export async function processStream(deps: HubDeps, streamId: string, options: ProcessOptions = {}): Promise<ProcessOutcome> {
  const limit = Math.min(options.limit ?? EVENTS_PER_TRANSACTION, EVENTS_PER_TRANSACTION);
  // The profile and settings are read before the transaction: the profile owner may send its job or compute, and
  // PGlite's one connection cannot serve a query outside an open transaction. A stream's version never changes.
  const key = await streams.keyOf(deps.db, streamId);
  if (!key) return { status: 'missing' };
  const found = await (options.profiles ?? ensureReferenceProfile)(deps, key.modelVersionId);
  if (found.status !== 'ready') return { status: 'waiting-for-profile', profile: found.status, error: found.error };
  const settings = await monitorSettingsOf(deps.db, key.projectId);
  // The review draw's secret comes from the signing key (outside the database): derived before the transaction.
  const reviewSecret = settings.reviewRate > 0 ? await reviewDrawSecret(deps.keys, key.projectId) : null;
  return withAdvisoryLock(deps.db, streams.monitorLockKey(streamId), async (tx) => {
    // Read under the lock: an update that held it before has committed, and this one starts from its cursor.
    const stream = (await streams.findById(tx, streamId))!;
    return new StreamUpdate(deps, tx, stream, found.profile, settings, reviewSecret).run(limit, options.now ?? null);
  });
}

/** One transaction's work on one stream. */
class StreamUpdate {
  private readonly monitor: StreamMonitor;
  private readonly labelIndex: Map<string, number>;
  private readonly window: number;
  private readonly rollup: RollupAccumulator;
  private readonly newPoints: points.MonitorPoint[] = [];
  /** Senders of this update's events so far, for contributors. */
  private readonly senders: Sender[] = [];
  private events: number;
  private admitted: number;
  /** Open alerts by detector, with the latest admitted index at which their statistic was at or above threshold. */
  private readonly open = new Map<SequentialDetector, { id: string; lastAbove: number }>();
  private readonly opened: OpenedAlert[] = [];
  private readonly resolved: string[] = [];
  private olderSenders: Sender[] | null = null;
  /** This update's readable events and their calibrated uncertainty: each gets its review decision. */
  private readonly reviewCandidates: AssignReviewsInput['events'] = [];
  /** What the stream's open alerts implicate, for the review policy's weights. */
  private reviewFocus: ReviewFocus = NO_FOCUS;

  constructor(
    private readonly deps: HubDeps,
    private readonly tx: Database,
    private readonly stream: streams.MonitorStream,
    private readonly profile: ReferenceProfile,
    private readonly settings: MonitorSettings,
    private readonly reviewSecret: Uint8Array | null,
  ) {
    this.monitor = stream.state ? StreamMonitor.restore(profile, settings, stream.state) : StreamMonitor.create(profile, settings);
    this.labelIndex = new Map(profile.summary.labels.map((label, i) => [label, i]));
    this.window = profile.summary.options.window;
    this.rollup = new RollupAccumulator(profile.summary.labels.length);
    this.events = stream.events;
    this.admitted = stream.admitted;
  }

  async run(limit: number, now: Date | null): Promise<ProcessOutcome> {
    const { tx, stream } = this;
    const rows = await feedback.eventsAfter(tx, {
      modelVersionId: stream.modelVersionId,
      channel: stream.channel,
      after: stream.cursor,
      before: now ? new Date(now.getTime() - HOLD_BACK_SECONDS * 1000) : null,
      holdBackSeconds: HOLD_BACK_SECONDS,
      limit,
    });
    const openAlerts = await alerts.openOfStream(tx, stream.id);
    this.reviewFocus = reviewFocusFromAlerts(openAlerts.map((alert) => alert.explanation));
    for (const alert of openAlerts) {
      const detector = alert.detector as SequentialDetector;
      const lastAbove = (await points.lastAtOrAbove(tx, { streamId: stream.id, detector, since: alert.openedAtEvent })) ?? alert.openedAtEvent;
      this.open.set(detector, { id: alert.id, lastAbove });
    }
    let skipped = 0;
    // In the order devices made them: a device's sync batch arrives as one block, and fed in arrival order the device
    // cap would admit only a few of its events; by device time, devices syncing in the same update interleave as their
    // users did. The cursor still follows arrival (the last row read).
    const byDeviceTime = [...rows].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    for (const event of byDeviceTime) {
      if (!(await this.push(event))) skipped++;
    }
    if (this.reviewSecret && this.reviewCandidates.length) {
      await assignReviews(tx, {
        projectId: stream.projectId,
        modelVersionId: stream.modelVersionId,
        settings: { reviewRate: this.settings.reviewRate, uniformShare: this.settings.uniformShare },
        meanUncertainty: this.profile.summary.meanUncertainty,
        secret: this.reviewSecret,
        focus: this.reviewFocus,
        events: this.reviewCandidates,
      });
    }
    const last = rows[rows.length - 1];
    const cursor = last ? { receivedAt: last.receivedAt, id: last.id } : stream.cursor;
    if (rows.length) {
      await points.insertPoints(tx, stream.id, this.newPoints);
      await rollups.addRollups(tx, stream.id, this.rollup.rows());
      const saved = await streams.save(tx, stream.id, stream.revision, {
        cursor,
        events: this.events,
        admitted: this.admitted,
        snapshot: this.monitor.snapshot(),
        state: this.monitor.serialize(),
        at: this.deps.now(),
      });
      if (!saved) throw new StaleStreamError(`monitor stream ${stream.id} was updated by another process since this update read it`);
    }
    const more = rows.length === limit;
    const pending = !more && (await feedback.hasEventsAfter(tx, { modelVersionId: stream.modelVersionId, channel: stream.channel, after: cursor }));
    return { status: 'processed', events: rows.length, admitted: this.admitted - stream.admitted, skipped, opened: this.opened, resolved: this.resolved, more, pending };
  }

  /** Feeds one event to the monitor; false when it cannot be read (counted in rollups all the same). */
  private async push(event: feedback.StreamEvent): Promise<boolean> {
    this.events++;
    const predicted = this.labelIndex.get(event.label);
    const embedding = embeddingFromBytes(event.embedding);
    if (predicted === undefined || embedding.length !== this.profile.summary.embeddingSize) {
      this.rollup.add(event, null);
      return false;
    }
    const result = this.monitor.push({ embedding, predicted, deviceKey: event.deviceKey });
    this.reviewCandidates.push({ predictionId: event.id, probabilities: result.probabilities, uncertainty: result.uncertainty, predicted: event.label, deviceKey: event.deviceKey });
    this.rollup.add(event, { predicted, confidence: 1 - result.uncertainty, lowConfidence: result.lowConfidence });
    this.senders.push({ deviceKey: event.deviceKey, appVersion: event.appVersion, backend: event.backend });
    if (!result.admitted) return true;
    this.admitted++;
    const index = this.admitted;
    const alarmed = new Set(result.alarms);
    for (const detector of SEQUENTIAL_DETECTORS) {
      if (index % POINT_EVERY !== 0 && !alarmed.has(detector) && !this.open.has(detector)) continue;
      const { value, threshold } = this.monitor.statistic(detector);
      if (index % POINT_EVERY === 0 || alarmed.has(detector)) {
        if (Number.isFinite(value) && Number.isFinite(threshold)) this.newPoints.push({ detector, eventIndex: index, at: event.at, value, threshold });
      }
      const open = this.open.get(detector);
      if (!open) continue;
      // An alert resolves once its statistic has stayed below its threshold for a window of admitted events.
      if (value >= threshold) open.lastAbove = index;
      else if (index - open.lastAbove >= this.window) {
        await alerts.resolveAlert(this.tx, open.id, event.at);
        this.resolved.push(open.id);
        this.open.delete(detector);
      }
    }
    const candidates = result.alarms.filter((detector) => !this.open.has(detector));
    if (candidates.length) await this.decide(candidates, event, index);
    return true;
  }

  /** A detector alarmed with no alert open: an alert opens if its effect passes the project's gate. */
  private async decide(candidates: SequentialDetector[], event: feedback.StreamEvent, index: number): Promise<void> {
    const snapshot = this.monitor.snapshot();
    for (const decision of alertDecisions(snapshot, this.settings)) {
      if (!decision.opens || !candidates.includes(decision.detector)) continue;
      const { value, threshold } = snapshot.detectors[decision.detector];
      const explanation: AlertExplanation = {
        detector: decision.detector,
        effect: decision.effect,
        moved: whatMoved(snapshot),
        contributors: await this.contributors(),
      };
      const alert = await alerts.openAlert(this.tx, {
        projectId: this.stream.projectId,
        streamId: this.stream.id,
        detector: decision.detector,
        at: event.at,
        event: index,
        statistic: value,
        threshold,
        explanation,
      });
      this.open.set(decision.detector, { id: alert.id, lastAbove: index });
      this.opened.push({ id: alert.id, detector: decision.detector, effect: decision.effect });
    }
  }

  /** The latest window of senders against the CONTRIBUTOR_HISTORY before it: this update's, then the stream's stored ones. */
  private async contributors(): Promise<AlertExplanation['contributors']> {
    const needed = this.window + CONTRIBUTOR_HISTORY;
    if (this.senders.length < needed && this.stream.cursor) {
      // Read once per update, newest first, only when an alert opens.
      this.olderSenders ??= (
        await feedback.senderKeysUpTo(this.tx, { modelVersionId: this.stream.modelVersionId, channel: this.stream.channel, upTo: this.stream.cursor, limit: needed })
      ).reverse();
    }
    const all = [...(this.olderSenders ?? []), ...this.senders].slice(-needed);
    return alertContributors(all.slice(-this.window), all.slice(0, Math.max(0, all.length - this.window)));
  }
}

/** The parts of a snapshot that say what moved. */
function whatMoved(snapshot: MonitorSnapshot): AlertExplanation['moved'] {
  const { classMix, confidence, labelShift, accuracy, embedding } = snapshot;
  return { classMix, confidence, labelShift, accuracy, embedding };
}
