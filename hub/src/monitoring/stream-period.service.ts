/**
 * One stream over a period, as a staged rollout compares a channel's canary and production groups: events and their
 * calibrated expected accuracy, p95 latency and unreadable events from the rollups of the period, the detectors'
 * label-free accuracy estimate from the latest snapshot, open alerts, and accuracy from reviews; and a stream's latest
 * snapshot alone (the retraining pipeline reads its class-mix estimate). Reads the monitor's own tables only (streams,
 * rollups, alerts), like the dashboard.
 */
import { type MonitorSnapshot, latencyBinEdges, monitorSnapshotSchema } from '@edgeloop/shared';
import { parseStored } from '../db/stored-json';
import type { HubDeps } from '../deps';
import { type LabelAccuracy, labelAccuracy } from '../feedback/review-assignment.service';
import * as alerts from './alert.repository';
import { type AlertSummary, binQuantile } from './monitor-query.service';
import * as rollups from './monitor-rollup.repository';
import * as streams from './monitor-stream.repository';

export interface StreamPeriod {
  /** Events the monitor processed in the period (rollup minutes from the one holding `since`). */
  events: number;
  /** Of those, events the monitor could not read (a label or embedding size the model lacks). */
  unreadable: number;
  /** Mean calibrated top-1 probability over the period's readable events (CBPE); null without any. */
  expectedAccuracy: number | null;
  /**
   * The detectors' latest label-free estimate: CBPE on the last events corrected for EM's label shift (falls back to
   * plain CBPE before the label-shift estimate exists); null before the stream's first update.
   */
  accuracyEstimate: number | null;
  /** The bins' estimate of the period's 95th latency percentile, ms (lower edge of its bin); null without events. */
  latencyP95Ms: number | null;
  openAlerts: Pick<AlertSummary, 'id' | 'detector' | 'openedAt' | 'statistic' | 'threshold'>[];
  /** Accuracy from people's labels of the stream's review assignments (all of the stream's, not only the period's). */
  reviews: LabelAccuracy;
}

/** The stream of (model version, channel) over [since, to]; a stream not started yet reads as empty. */
export async function streamPeriod(
  deps: HubDeps,
  input: { projectId: string; model: string; modelVersionId: string; version: number; channel: string; since: Date; to: Date },
): Promise<StreamPeriod> {
  const found = await streams.findByName(deps.db, input);
  const reviewsOf = async (population?: { events: number; expectedCorrect: number }) =>
    labelAccuracy(deps, { projectId: input.projectId, modelVersionId: input.modelVersionId, channel: input.channel, ...(population ? { population } : {}) });
  if (!found) return { events: 0, unreadable: 0, expectedAccuracy: null, accuracyEstimate: null, latencyP95Ms: null, openAlerts: [], reviews: await reviewsOf() };
  const from = new Date(Math.floor(input.since.getTime() / 60_000) * 60_000);
  const [totals, lifetime, snapshot, open] = await Promise.all([
    rollups.totals(deps.db, { streamIds: [found.id], from, to: new Date(input.to.getTime() + 60_000) }),
    rollups.lifetimeTotals(deps.db, [found.id]),
    snapshotOf(deps, found.id),
    alerts.openOfStream(deps.db, found.id),
  ]);
  const period = totals.get(found.id);
  const scored = period ? period.classCounts.reduce((s, n) => s + n, 0) : 0;
  return {
    events: period?.events ?? 0,
    unreadable: period ? period.events - scored : 0,
    expectedAccuracy: period && scored > 0 ? period.expectedCorrect / scored : null,
    accuracyEstimate: snapshot ? (snapshot.accuracy.labelShiftCorrected ?? snapshot.accuracy.expected) : null,
    latencyP95Ms: period ? binQuantile(period.latencyHistogram, latencyBinEdges(), 0.95) : null,
    openAlerts: open.map((a) => ({ id: a.id, detector: a.detector as AlertSummary['detector'], openedAt: a.openedAt.toISOString(), statistic: a.statistic, threshold: a.threshold })),
    reviews: await reviewsOf(lifetime.get(found.id)),
  };
}

/** The detectors' latest snapshot of the stream of (model version, channel); null before its first update. */
export async function latestSnapshot(deps: HubDeps, stream: { projectId: string; model: string; version: number; channel: string }): Promise<MonitorSnapshot | null> {
  const found = await streams.findByName(deps.db, stream);
  return found ? snapshotOf(deps, found.id) : null;
}

async function snapshotOf(deps: HubDeps, streamId: string): Promise<MonitorSnapshot | null> {
  const stream = await streams.findById(deps.db, streamId);
  return stream?.snapshot ? parseStored(monitorSnapshotSchema, stream.snapshot, `monitor stream ${streamId} snapshot`) : null;
}
