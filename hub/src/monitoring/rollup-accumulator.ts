/**
 * Per-minute counts of one update's events, added to the stored rollups at its end (monitor-rollup.repository): class
 * mix, low confidence, expected correct, confidence and latency histograms, backends, app versions, devices.
 */
import { CONFIDENCE_BINS, LATENCY_BINS, confidenceBin, latencyBin } from '@edgeloop/shared';
import { DEVICES_PER_BUCKET, type Rollup } from './monitor-rollup.repository';

/** What the monitor made of an event; null when it could not read it (a label or embedding size the model lacks). */
export interface ScoredEvent {
  predicted: number;
  /** Calibrated probability of the predicted class. */
  confidence: number;
  lowConfidence: boolean;
}

/** App version recorded for events from devices older than the field. */
export const UNKNOWN_APP_VERSION = 'unknown';

const MINUTE_MS = 60_000;

export class RollupAccumulator {
  private readonly buckets = new Map<number, Rollup & { allDevices: Map<string, number> }>();

  constructor(private readonly classes: number) {}

  add(event: { at: Date; deviceKey: string; appVersion: string | null; backend: string; latencyMs: number }, scored: ScoredEvent | null): void {
    const minute = Math.floor(event.at.getTime() / MINUTE_MS) * MINUTE_MS;
    let bucket = this.buckets.get(minute);
    if (!bucket) {
      bucket = {
        bucket: new Date(minute),
        events: 0,
        classCounts: new Array<number>(this.classes).fill(0),
        lowConfidence: 0,
        expectedCorrect: 0,
        confidenceHistogram: new Array<number>(CONFIDENCE_BINS).fill(0),
        latencyHistogram: new Array<number>(LATENCY_BINS).fill(0),
        backends: {},
        appVersions: {},
        devices: {},
        allDevices: new Map(),
      };
      this.buckets.set(minute, bucket);
    }
    bucket.events++;
    bucket.latencyHistogram[latencyBin(event.latencyMs)]!++;
    bucket.backends[event.backend] = (bucket.backends[event.backend] ?? 0) + 1;
    const app = event.appVersion ?? UNKNOWN_APP_VERSION;
    bucket.appVersions[app] = (bucket.appVersions[app] ?? 0) + 1;
    bucket.allDevices.set(event.deviceKey, (bucket.allDevices.get(event.deviceKey) ?? 0) + 1);
    if (!scored) return;
    bucket.classCounts[scored.predicted]!++;
    if (scored.lowConfidence) bucket.lowConfidence++;
    bucket.expectedCorrect += scored.confidence;
    bucket.confidenceHistogram[confidenceBin(scored.confidence)]!++;
  }

  /** The buckets, oldest first, each keeping its DEVICES_PER_BUCKET busiest devices. */
  rows(): Rollup[] {
    return [...this.buckets.values()]
      .sort((a, b) => a.bucket.getTime() - b.bucket.getTime())
      .map(({ allDevices, ...row }) => ({
        ...row,
        devices: Object.fromEntries([...allDevices].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, DEVICES_PER_BUCKET)),
      }));
  }
}
