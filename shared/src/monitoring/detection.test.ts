import { beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddingModel } from '../test-support/embedding-classes';
import { fixtureEvents, fixtureModel, fixtureProfile, type StreamOptions } from '../test-support/monitor-fixture';
import { alertDecisions } from './alert-gate';
import { monitorSettingsSchema, type MonitorSettings, type ReferenceProfile, type SequentialDetector } from './profile';
import { StreamMonitor } from './stream-monitor';

const model = fixtureModel();
const settings = monitorSettingsSchema.parse({});
let profile: ReferenceProfile;

beforeAll(() => {
  profile = fixtureProfile(model);
}, 60_000);

/** Admitted-event index of each detector's first alarm within the first `horizon` admitted events. */
function firstAlarms(events: ReturnType<typeof fixtureEvents>, horizon = 300, monitorSettings: MonitorSettings = settings) {
  const monitor = StreamMonitor.create(profile, monitorSettings);
  const first: Partial<Record<SequentialDetector, number>> = {};
  let admitted = 0;
  for (const event of events) {
    const result = monitor.push(event);
    if (!result.admitted) continue;
    admitted++;
    for (const detector of result.alarms) first[detector] ??= admitted;
    if (admitted === horizon) break;
  }
  expect(admitted).toBe(horizon);
  return { first, monitor };
}

/** A unit direction orthogonal to every class mean: moving along it leaves the head's logits unchanged. */
function directionOutsideTheHead(m: EmbeddingModel, seedRow: Float32Array): Float64Array {
  const basis: Float64Array[] = [];
  const orthogonalize = (v: Float64Array) => {
    for (const b of basis) {
      const dot = v.reduce((s, x, j) => s + x * b[j]!, 0);
      for (let j = 0; j < v.length; j++) v[j] = v[j]! - dot * b[j]!;
    }
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  };
  for (let c = 0; c < m.k; c++) basis.push(orthogonalize(Float64Array.from(m.means.subarray(c * m.d, (c + 1) * m.d))));
  return orthogonalize(Float64Array.from(seedRow));
}

const horizonEvents = 1500;

describe('detectors on shifted streams', () => {
  it('class mix flags a removed class within 300 events, and the gate names it', () => {
    const { first, monitor } = firstAlarms(fixtureEvents(model, horizonEvents, 10, { priors: [0, 1, 1, 1, 1, 1] }));
    expect(first.classMix).toBeDefined();
    const decision = alertDecisions(monitor.snapshot(), settings).find((d) => d.detector === 'classMix')!;
    expect(decision.opens).toBe(true);
    expect(decision.effect).toMatch(/cat fell/);
  });

  it('confidence flags more low-confidence predictions within 300 events', () => {
    // Every image lies halfway to the next class: the model hesitates on all of them.
    const d = model.d;
    const options: StreamOptions = {
      transform: (e, y) => {
        const other = (y + 1) % model.k;
        for (let j = 0; j < d; j++) e[j] = 0.6 * e[j]! + 0.4 * model.means[other * d + j]!;
      },
    };
    const { first, monitor } = firstAlarms(fixtureEvents(model, horizonEvents, 11, options));
    expect(first.confidence).toBeDefined();
    const snapshot = monitor.snapshot();
    expect(snapshot.confidence.lowConfidenceRate!).toBeGreaterThan(2 * snapshot.confidence.referenceRate);
    expect(snapshot.confidence.ks!.pValue).toBeLessThan(1e-6);
    expect(alertDecisions(snapshot, settings).find((x) => x.detector === 'confidence')!.opens).toBe(true);
  });

  it('embedding flags embeddings moved where the head does not look, which class mix and confidence cannot see', () => {
    const direction = directionOutsideTheHead(model, profile.arrays.pcaAxes.subarray((profile.summary.pca.rank - 1) * model.d, profile.summary.pca.rank * model.d));
    const shifted = fixtureEvents(model, horizonEvents, 12, { transform: (e) => e.forEach((v, j) => (e[j] = v + 3 * direction[j]!)) });
    const { first, monitor } = firstAlarms(shifted);
    expect(first.embedding).toBeDefined();
    expect(first.classMix).toBeUndefined();
    expect(first.confidence).toBeUndefined();
    const snapshot = monitor.snapshot();
    expect(snapshot.embedding.oodShare!).toBeGreaterThan(snapshot.embedding.oodReferenceShare);
  });
});

describe('false alarms', () => {
  it('a device sending 60% of events, all of one class, does not alarm by itself under the cap, and does without it', () => {
    const heavy: StreamOptions = { heavyDeviceShare: 0.6, heavyDevice: { priors: [1, 0, 0, 0, 0, 0] } };
    let cappedAlarms = 0;
    let uncappedAlarms = 0;
    const streams = 8;
    for (let s = 0; s < streams; s++) {
      const events = fixtureEvents(model, 3000, 100 + s, heavy);
      if (Object.keys(firstAlarms(events).first).length > 0) cappedAlarms++;
      if (Object.keys(firstAlarms(events, 300, { ...settings, deviceCap: 1 }).first).length > 0) uncappedAlarms++;
    }
    expect(cappedAlarms).toBeLessThanOrEqual(1);
    expect(uncappedAlarms).toBe(streams);
  });

  it('fresh in-distribution streams in correlated device sessions alarm within 300 events at most 5% + 2 SE of the time', () => {
    // Fresh draws from the model (not the test rows the thresholds were simulated from), 20 devices, sessions of mean
    // length 5, half of them showing a single class: as correlated as the profile's null streams.
    const streams = 60;
    const correlated: StreamOptions = { devices: 20, sessionLength: 5, sessionClassShare: 0.5 };
    let alarmed = 0;
    for (let s = 0; s < streams; s++) if (Object.keys(firstAlarms(fixtureEvents(model, 3000, 1000 + s, correlated)).first).length > 0) alarmed++;
    expect(alarmed / streams).toBeLessThanOrEqual(0.05 + 2 * Math.sqrt((0.05 * 0.95) / streams));
  });
});
