/**
 * The monitor of one (project, model version, channel) stream (design §2): fed events one by one, it recovers the
 * calibrated probabilities from the embedding (the head is one dense layer: p = softmax((e·W + b)/T)), applies the
 * device cap, and updates the three sequential detectors on admitted events:
 * - classMix: windowed multinomial GLR of the devices' top-1 labels against the reference mix;
 * - confidence: Bernoulli CUSUM of "calibrated confidence of the top-1 < tau";
 * - embedding: unbiased MMD² of the window's PCA projections against the reference sample, as a z-score per
 *   window size (null moments from the profile's simulation).
 * Thresholds come from the profile (calibrated jointly for this device cap, window and horizon). snapshot() adds the
 * explanation statistics; serialize() writes a compact binary state that restore() continues from exactly.
 */
import { BinaryReader, BinaryWriter } from './binary-state';
import { DeviceCap, hashDeviceKey } from './device-cap';
import { SlidingMmdWindow } from './mmd';
import { monitorSnapshotSchema, type DetectorSnapshot, type MonitorSnapshot } from './monitor-snapshot';
import { projectRows } from './pca';
import { SEQUENTIAL_DETECTORS, monitorSettingsSchema, type MonitorSettings, type ReferenceProfile, type SequentialDetector } from './profile';
import { calibratedProbabilities, nearestReferenceSquaredDistance, profileRuntime, type ProfileRuntime } from './profile-runtime';
import { RowRing } from './row-ring';
import { BernoulliCusum, MixGlrDetector } from './sequential';
import { classMixExplanation, confidenceExplanation, labelShiftAndAccuracy } from './window-explanation';

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

const STATE_MAGIC = 0x534d4c45; // "ELMS" as a little-endian u32
const STATE_VERSION = 1;

export class StreamMonitor {
  private readonly runtime: ProfileRuntime;
  private cap: DeviceCap;
  private glr: MixGlrDetector;
  private cusum: BernoulliCusum;
  private mmd: SlidingMmdWindow;
  /** Window explanation rings (admitted events): calibrated confidence [W], out-of-distribution flag [W]. */
  private readonly confidences: RowRing<Float64Array>;
  private readonly ood: RowRing<Uint8Array>;
  /** Label-shift rings (the last labelShiftEvents admitted): calibrated probabilities [N, K] as float32, top-1 [N]. */
  private readonly probabilities: RowRing<Float32Array>;
  private readonly predicted: RowRing<Uint16Array>;
  private events = 0;
  private admitted = 0;
  private capped = 0;
  /** Per detector (SEQUENTIAL_DETECTORS order): statistic after the latest admitted event (the CUSUM's before its reset), latest crossing (admitted index, 0 = none), crossings. */
  private readonly values = new Float64Array(3);
  private readonly lastAlarm = new Float64Array(3);
  private readonly alarmCounts = new Float64Array(3);

  private constructor(
    readonly profile: ReferenceProfile,
    readonly settings: MonitorSettings,
  ) {
    this.runtime = profileRuntime(profile);
    const { options, k, thresholds } = this.runtime;
    this.cap = new DeviceCap(options.window, settings.deviceCap);
    this.glr = new MixGlrDetector({ pi0: profile.arrays.predictedMix, window: options.window, minWindow: options.glrMinWindow, threshold: thresholds.classMix });
    this.cusum = new BernoulliCusum({ p0: this.runtime.cusumP0, p1: this.runtime.cusumP1, threshold: thresholds.confidence });
    this.mmd = new SlidingMmdWindow(this.runtime.mmdReference, options.window);
    this.confidences = new RowRing(new Float64Array(options.window), 1);
    this.ood = new RowRing(new Uint8Array(options.window), 1);
    this.probabilities = new RowRing(new Float32Array(options.labelShiftEvents * k), k);
    this.predicted = new RowRing(new Uint16Array(options.labelShiftEvents), 1);
  }

  static create(profile: ReferenceProfile, settings: MonitorSettings): StreamMonitor {
    return new StreamMonitor(profile, monitorSettingsSchema.parse(settings));
  }

  /** Continues from serialize()'s bytes; throws when they are corrupt or belong to another profile. */
  static restore(profile: ReferenceProfile, settings: MonitorSettings, state: Uint8Array): StreamMonitor {
    const monitor = StreamMonitor.create(profile, settings);
    monitor.load(state);
    return monitor;
  }

  /** Pushes one event. O(d·K + d·r + (|R| + W)·r): about 0.2 ms. Throws on a wrong-sized embedding or a predicted index out of range. */
  push(event: MonitorEvent): MonitorEventResult {
    const { k, dimension, lowConfidenceThreshold } = this.runtime;
    const { embedding, predicted, deviceKey } = event;
    if (!(embedding instanceof Float32Array) || embedding.length !== dimension) throw new Error(`embedding must be a Float32Array of ${dimension} values, got ${embedding?.length}`);
    for (let j = 0; j < dimension; j++) if (!Number.isFinite(embedding[j]!)) throw new Error(`embedding[${j}] = ${embedding[j]} is not finite`);
    if (!Number.isInteger(predicted) || predicted < 0 || predicted >= k) throw new Error(`predicted = ${predicted} is not a class index in [0, ${k})`);
    if (typeof deviceKey !== 'string') throw new Error('deviceKey must be a string');
    const probabilities = calibratedProbabilities(this.runtime, embedding);
    const confidence = probabilities[predicted]!;
    const lowConfidence = confidence < lowConfidenceThreshold;
    this.events++;
    const admitted = this.cap.admit(hashDeviceKey(deviceKey));
    const result: MonitorEventResult = { admitted, probabilities, uncertainty: 1 - confidence, lowConfidence, alarms: [] };
    if (!admitted) {
      this.capped++;
      return result;
    }
    this.admitted++;
    this.values[0] = this.glr.update(predicted).statistic;
    this.values[1] = this.cusum.update(lowConfidence).statistic;
    // Projections are rounded to float32, as the reference sample is, so a serialized window (float32) is exact.
    const x = Float64Array.from(Float32Array.from(projectRows(this.runtime.basis, Float64Array.from(embedding), 1)));
    this.mmd.push(x);
    this.values[2] = this.embeddingZ();
    this.confidences.push([confidence]);
    this.ood.push([nearestReferenceSquaredDistance(this.runtime.mmdReference, x) > this.runtime.oodSquaredDistance ? 1 : 0]);
    this.probabilities.push(probabilities);
    this.predicted.push([predicted]);
    SEQUENTIAL_DETECTORS.forEach((detector, d) => {
      if (this.values[d]! > this.runtime.thresholds[detector]) {
        result.alarms.push(detector);
        this.lastAlarm[d] = this.admitted;
        this.alarmCounts[d]!++;
      }
    });
    return result;
  }

  /** The MMD² of the window as a z-score for its size; 0 below the minimum window. */
  private embeddingZ(): number {
    const { mmdNullMean, mmdNullSd } = this.profile.arrays;
    const minWindow = this.runtime.options.mmdMinWindow;
    if (this.mmd.size < minWindow) return 0;
    const index = Math.min(this.mmd.size, minWindow + mmdNullMean.length - 1) - minWindow;
    return (this.mmd.mmd2() - mmdNullMean[index]!) / mmdNullSd[index]!;
  }

  /** The detector's statistic after the latest admitted event (the CUSUM's before any reset) and its threshold. O(1). */
  statistic(detector: SequentialDetector): { value: number; threshold: number } {
    const d = SEQUENTIAL_DETECTORS.indexOf(detector);
    if (d < 0) throw new Error(`detector must be one of ${SEQUENTIAL_DETECTORS.join(', ')}, got ${String(detector)}`);
    return { value: this.values[d]!, threshold: this.runtime.thresholds[detector] };
  }

  /** The detectors and the explanation statistics on the current windows. A few ms (EM over the label-shift window dominates). */
  snapshot(): MonitorSnapshot {
    const { k, labels, options, arrays, lowConfidenceThreshold, thresholds } = this.runtime;
    const { summary } = this.profile;
    const detector = (name: SequentialDetector, d: number): DetectorSnapshot => {
      const last = this.lastAlarm[d]!;
      return {
        value: this.values[d]!,
        threshold: thresholds[name],
        alarm: this.values[d]! > thresholds[name] || (last > 0 && this.admitted - last < options.window),
        lastAlarmAt: last > 0 ? last : null,
        alarms: this.alarmCounts[d]!,
      };
    };
    const oodFlags = this.ood.ordered();
    const snapshot: MonitorSnapshot = {
      events: this.events,
      admitted: this.admitted,
      capped: this.capped,
      detectors: { classMix: detector('classMix', 0), confidence: detector('confidence', 1), embedding: detector('embedding', 2) },
      classMix: classMixExplanation(this.glr.labels(), arrays.predictedMix, labels),
      confidence: confidenceExplanation(this.confidences.ordered(), lowConfidenceThreshold, summary.lowConfidence.referenceRate, Float64Array.from(arrays.sortedConfidences)),
      ...labelShiftAndAccuracy(Float64Array.from(this.probabilities.ordered()), this.predicted.ordered(), k, arrays.labelPrior, arrays.jointConfusion, {
        accuracy: summary.accuracy,
        expected: summary.expectedAccuracy,
      }),
      embedding: {
        window: this.mmd.size,
        mmd2: this.mmd.size >= options.mmdMinWindow ? this.mmd.mmd2() : null,
        oodShare: oodFlags.length ? oodFlags.reduce((s, f) => s + f, 0) / oodFlags.length : null,
        oodReferenceShare: summary.mmd.oodReferenceShare,
      },
    };
    return snapshot;
  }

  /**
   * The state as bytes (about 70 KB at W = 300, r = 16, K = 10, N = 1,000; the label-shift rows are most of it):
   * header (magic, version, profile fingerprint, shapes), counters, detector values and latches, the device window,
   * the GLR labels, the CUSUM, the MMD window with its running sums, the explanation rings, a checksum.
   */
  serialize(): Uint8Array {
    const { fingerprint, k, rank, options } = this.runtime;
    const mmd = this.mmd.state();
    const glr = this.glr.toJSON();
    const cusum = this.cusum.toJSON();
    return new BinaryWriter()
      .u32(STATE_MAGIC)
      .u32(STATE_VERSION)
      .u32(fingerprint)
      .array([k, rank, options.window, options.labelShiftEvents], 'u32')
      .array([this.events, this.admitted, this.capped], 'f64')
      .array(this.values, 'f64')
      .array(this.lastAlarm, 'f64')
      .array(this.alarmCounts, 'f64')
      .array(this.cap.devices(), 'u32')
      .array(glr.labels, 'u16')
      .f64(glr.events)
      .array([cusum.statistic, cusum.events, cusum.alarms], 'f64')
      .array(mmd.points, 'f32')
      .array(mmd.referenceSums, 'f64')
      .array(mmd.windowSums, 'f64')
      .array([mmd.sumRW, mmd.sumWW], 'f64')
      .array(this.confidences.ordered(), 'f64')
      .array(this.ood.ordered(), 'u8')
      .array(this.probabilities.ordered(), 'f32')
      .array(this.predicted.ordered(), 'u16')
      .finish();
  }

  private load(state: Uint8Array): void {
    const what = 'monitor state';
    const reader = new BinaryReader(state, what);
    if (reader.u32() !== STATE_MAGIC) throw new Error(`${what} is invalid: it does not start with "ELMS"`);
    const version = reader.u32();
    if (version !== STATE_VERSION) throw new Error(`${what} has version ${version}, expected ${STATE_VERSION}`);
    const { fingerprint, k, rank, options, thresholds, mmdReference } = this.runtime;
    if (reader.u32() !== fingerprint) throw new Error(`${what} belongs to another reference profile (fingerprint mismatch)`);
    const shape = reader.u32s();
    if (shape.join() !== [k, rank, options.window, options.labelShiftEvents].join()) throw new Error(`${what} has shapes ${shape.join(', ')}, expected ${[k, rank, options.window, options.labelShiftEvents].join(', ')}`);
    const [events, admitted, capped] = reader.f64s();
    [this.events, this.admitted, this.capped] = [events!, admitted!, capped!];
    this.values.set(reader.f64s());
    this.lastAlarm.set(reader.f64s());
    this.alarmCounts.set(reader.f64s());
    this.cap = DeviceCap.fromDevices(options.window, this.settings.deviceCap, reader.u32s());
    const labels = Array.from(reader.u16s());
    const glrEvents = reader.f64();
    this.glr = MixGlrDetector.fromJSON({ kind: 'mixGlr', pi0: Array.from(this.profile.arrays.predictedMix), window: options.window, minWindow: options.glrMinWindow, threshold: thresholds.classMix, labels, events: glrEvents });
    const [statistic, cusumEvents, cusumAlarms] = reader.f64s();
    this.cusum = BernoulliCusum.fromJSON({ kind: 'bernoulliCusum', p0: this.runtime.cusumP0, p1: this.runtime.cusumP1, threshold: thresholds.confidence, statistic: statistic!, events: cusumEvents!, alarms: cusumAlarms! });
    const points = Float64Array.from(reader.f32s());
    const referenceSums = reader.f64s();
    const windowSums = reader.f64s();
    const [sumRW, sumWW] = reader.f64s();
    this.mmd = SlidingMmdWindow.fromState(mmdReference, options.window, { points, referenceSums, windowSums, sumRW: sumRW!, sumWW: sumWW! });
    this.confidences.load(reader.f64s());
    this.ood.load(reader.u8s());
    this.probabilities.load(reader.f32s());
    this.predicted.load(reader.u16s());
    reader.done();
  }
}

/** Validates a snapshot read back from storage (jsonb) against the contract. */
export function parseMonitorSnapshot(value: unknown): MonitorSnapshot {
  return monitorSnapshotSchema.parse(value);
}
