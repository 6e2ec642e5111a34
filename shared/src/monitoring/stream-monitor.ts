/**
 * The monitor of one (project, model version, channel) stream: fed events one by one, it computes calibrated
 * probabilities from the embedding (the head is one dense layer), applies the device cap, updates the three
 * sequential detectors, and explains the current window on request. Pure: the hub stores `serialize()`.
 */
import type { MonitorSnapshot } from './monitor-snapshot';
import type { MonitorSettings, ReferenceProfile, SequentialDetector } from './profile';

export interface MonitorEvent {
  /** [d] as the device sent it. */
  embedding: Float32Array;
  /** Index of the device's top-1 label. */
  predicted: number;
  /** Who sent it (the install's device id, or the sender); the device cap counts per key. */
  deviceKey: string;
}

export interface MonitorEventResult {
  /** False when the device was over its share (deviceCap) of the window: the detectors skipped the event. */
  admitted: boolean;
  /** [K] calibrated: softmax((embedding·kernel + bias) / T). */
  probabilities: Float64Array;
  /** 1 - probabilities[predicted]. */
  uncertainty: number;
  lowConfidence: boolean;
  /** Detectors whose statistic crossed its threshold at this event. */
  alarms: SequentialDetector[];
}

export class StreamMonitor {
  private constructor(
    readonly profile: ReferenceProfile,
    readonly settings: MonitorSettings,
  ) {}

  static create(profile: ReferenceProfile, settings: MonitorSettings): StreamMonitor {
    return new StreamMonitor(profile, settings);
  }

  static restore(profile: ReferenceProfile, settings: MonitorSettings, state: Uint8Array): StreamMonitor {
    void state;
    return new StreamMonitor(profile, settings);
  }

  push(event: MonitorEvent): MonitorEventResult {
    void event;
    throw new Error('StreamMonitor.push is not implemented yet');
  }

  statistic(detector: SequentialDetector): { value: number; threshold: number } {
    void detector;
    throw new Error('StreamMonitor.statistic is not implemented yet');
  }

  snapshot(): MonitorSnapshot {
    throw new Error('StreamMonitor.snapshot is not implemented yet');
  }

  serialize(): Uint8Array {
    throw new Error('StreamMonitor.serialize is not implemented yet');
  }
}
