import { beforeAll, describe, expect, it } from 'vitest';
import { fixtureEvents, fixtureModel, fixtureProfile } from '../test-support/monitor-fixture';
import { softmaxWithTemperature } from './calibration';
import { monitorSnapshotSchema } from './monitor-snapshot';
import { monitorSettingsSchema, type ReferenceProfile } from './profile';
import { logitRows } from './profile-runtime';
import { StreamMonitor } from './stream-monitor';

const model = fixtureModel();
const settings = monitorSettingsSchema.parse({});
let profile: ReferenceProfile;

beforeAll(() => {
  profile = fixtureProfile(model);
}, 60_000);

describe('StreamMonitor', () => {
  it('computes calibrated probabilities from the embedding through the head', () => {
    const monitor = StreamMonitor.create(profile, settings);
    const [event] = fixtureEvents(model, 1, 1);
    const result = monitor.push(event!);
    const logits = logitRows(event!.embedding, 1, model.d, model.head.kernel, model.head.bias, model.k);
    const expected = softmaxWithTemperature(logits, model.k, profile.summary.calibration.temperature);
    expect(Array.from(result.probabilities)).toEqual(Array.from(expected));
    expect(result.uncertainty).toBe(1 - expected[event!.predicted]!);
    expect(result.lowConfidence).toBe(expected[event!.predicted]! < profile.summary.lowConfidence.threshold);
    expect(result.admitted).toBe(true);
  });

  it('continues exactly after serialize and restore, at any point of a stream', () => {
    const events = fixtureEvents(model, 700, 2, { priors: [0, 1, 1, 1, 1, 2] });
    const straight = StreamMonitor.create(profile, settings);
    const straightResults = events.map((e) => straight.push(e));
    let resumed = StreamMonitor.create(profile, settings);
    const resumedResults = events.map((e, i) => {
      if (i % 97 === 0) resumed = StreamMonitor.restore(profile, settings, resumed.serialize());
      return resumed.push(e);
    });
    expect(resumedResults).toEqual(straightResults);
    expect(resumed.serialize()).toEqual(straight.serialize());
    expect(resumed.snapshot()).toEqual(straight.snapshot());
    for (const detector of ['classMix', 'confidence', 'embedding'] as const) expect(resumed.statistic(detector)).toEqual(straight.statistic(detector));
    // This stream alarms, so the comparison covered alarms and the CUSUM's reset.
    expect(straightResults.some((r) => r.alarms.length > 0)).toBe(true);
  });

  it('keeps its state compact', () => {
    const monitor = StreamMonitor.create(profile, settings);
    for (const e of fixtureEvents(model, 1500, 3)) monitor.push(e);
    const bytes = monitor.serialize().length;
    const { window, labelShiftEvents, pcaRank } = profile.summary.options;
    // window × (projection as float32 + two float64 sums + confidence + device + label + flag) + label-shift rows (float32 probabilities + label) + header.
    const bound = window * (4 * pcaRank + 16 + 8 + 4 + 2 + 1) + labelShiftEvents * (4 * model.k + 2) + 512;
    expect(bytes).toBeLessThanOrEqual(bound);
    expect(bytes).toBeGreaterThan(bound - 1024);
  });

  it('refuses a state from another profile, a corrupt state, and bad events, naming what is wrong', () => {
    const monitor = StreamMonitor.create(profile, settings);
    for (const e of fixtureEvents(model, 50, 4)) monitor.push(e);
    const state = monitor.serialize();
    const other: ReferenceProfile = { ...profile, arrays: { ...profile.arrays, thresholds: profile.arrays.thresholds.map((h) => h + 1) } };
    expect(() => StreamMonitor.restore(other, settings, state)).toThrow(/belongs to another reference profile/);
    expect(() => StreamMonitor.restore(profile, settings, state.subarray(0, state.length - 10))).toThrow(/monitor state is invalid: checksum/);
    expect(() => StreamMonitor.restore(profile, settings, new Uint8Array(3))).toThrow(/too short/);
    const good = fixtureEvents(model, 1, 5)[0]!;
    expect(() => monitor.push({ ...good, embedding: new Float32Array(model.d + 1) })).toThrow(/embedding must be a Float32Array of 32 values, got 33/);
    expect(() => monitor.push({ ...good, embedding: Float32Array.from(good.embedding, (v, j) => (j === 3 ? Infinity : v)) })).toThrow(/embedding\[3\] = Infinity is not finite/);
    expect(() => monitor.push({ ...good, predicted: 6 })).toThrow(/predicted = 6 is not a class index in \[0, 6\)/);
    expect(() => monitor.push({ ...good, predicted: 1.5 })).toThrow(/predicted = 1.5/);
  });

  it('reports a snapshot that satisfies its schema, before any event and after many', () => {
    const monitor = StreamMonitor.create(profile, settings);
    const empty = monitorSnapshotSchema.parse(monitor.snapshot());
    expect(empty.events).toBe(0);
    expect(empty.accuracy.expected).toBeNull();
    expect(empty.classMix.totalVariation).toBeNull();
    for (const e of fixtureEvents(model, 600, 6)) monitor.push(e);
    const snapshot = monitorSnapshotSchema.parse(JSON.parse(JSON.stringify(monitor.snapshot())));
    expect(snapshot.events).toBe(600);
    expect(snapshot.admitted + snapshot.capped).toBe(600);
    expect(snapshot.classMix.window).toBe(Math.min(snapshot.admitted, profile.summary.options.window));
    expect(snapshot.classMix.observed.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 12);
    expect(snapshot.labelShift.events).toBe(Math.min(snapshot.admitted, profile.summary.options.labelShiftEvents));
    // In distribution, the label-free estimate stays near the reference and EM finds priors near the reference's.
    expect(Math.abs(snapshot.accuracy.drop!)).toBeLessThan(4);
    const l1 = snapshot.labelShift.em!.reduce((s, q, c) => s + Math.abs(q - snapshot.labelShift.reference[c]!), 0);
    expect(l1).toBeLessThan(0.2);
  });
});
