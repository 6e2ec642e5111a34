import { describe, expect, it } from 'vitest';
import { alertDecisions, OOD_SHARE_MARGIN } from './alert-gate';
import { monitorSnapshotSchema, type MonitorSnapshot } from './monitor-snapshot';
import { monitorSettingsSchema } from './profile';

const detector = (alarm: boolean) => ({ value: alarm ? 12 : 1, threshold: 10, alarm, lastAlarmAt: alarm ? 280 : null, alarms: alarm ? 1 : 0 });

/** A snapshot where every detector alarms: class mix TV 0.12 with cat fell, dog rose; drop 3 points; OOD share 4%. */
function snapshot(): MonitorSnapshot {
  return monitorSnapshotSchema.parse({
    events: 400,
    admitted: 300,
    capped: 100,
    detectors: { classMix: detector(true), confidence: detector(true), embedding: detector(true) },
    classMix: {
      window: 300,
      observed: [0.08, 0.42, 0.5],
      expected: [0.2, 0.3, 0.5],
      chiSquare: { statistic: 40, dof: 2, pValue: 2e-9 },
      jensenShannon: 0.1,
      totalVariation: 0.12,
      classes: [
        { label: 'cat', observed: 0.08, expected: 0.2, z: -5.2, change: 'fell' },
        { label: 'dog', observed: 0.42, expected: 0.3, z: 4.5, change: 'rose' },
        { label: 'bird', observed: 0.5, expected: 0.5, z: 0, change: null },
      ],
    },
    confidence: { window: 300, lowConfidenceRate: 0.35, referenceRate: 0.2, ks: { statistic: 0.2, pValue: 1e-8 } },
    labelShift: { events: 300, reference: [0.2, 0.3, 0.5], em: [0.1, 0.4, 0.5], bbse: [0.1, 0.4, 0.5], weights: [0.5, 4 / 3, 1], notPureLabelShift: false },
    accuracy: { reference: 0.9, referenceExpected: 0.9, expected: 0.88, labelShiftCorrected: 0.87, drop: 3 },
    embedding: { window: 300, mmd2: 0.02, oodShare: 0.04, oodReferenceShare: 0.01 },
  });
}

const decide = (s: MonitorSnapshot, overrides: Record<string, number> = {}) =>
  Object.fromEntries(alertDecisions(s, monitorSettingsSchema.parse(overrides)).map((d) => [d.detector, d]));

describe('alert gates', () => {
  it('opens a class-mix alert only when total variation reaches the setting, and says which classes moved', () => {
    expect(decide(snapshot(), { minTotalVariation: 0.11 }).classMix).toEqual({ detector: 'classMix', opens: true, effect: 'total variation 0.12 >= 0.11; cat fell, dog rose' });
    expect(decide(snapshot(), { minTotalVariation: 0.13 }).classMix!.opens).toBe(false);
  });

  it('opens confidence and embedding alerts on the estimated accuracy drop', () => {
    const at = (minAccuracyDrop: number) => decide(snapshot(), { minAccuracyDrop });
    expect(at(2.9).confidence!.opens).toBe(true);
    expect(at(2.9).confidence!.effect).toBe('estimated accuracy drop 3.0 points >= 2.9; low-confidence rate 0.35 vs 0.20');
    expect(at(3.1).confidence!.opens).toBe(false);
    expect(at(2.9).embedding!.opens).toBe(true);
    // OOD share 4% is below 1% + 5 points, so without the drop the embedding alert stays closed.
    expect(at(3.1).embedding!.opens).toBe(false);
  });

  it('opens an embedding alert on a large out-of-distribution share even when the label-free drop looks small', () => {
    const s = snapshot();
    s.embedding.oodShare = s.embedding.oodReferenceShare + OOD_SHARE_MARGIN;
    s.accuracy.drop = 0.2;
    const decision = decide(s).embedding!;
    expect(decision.opens).toBe(true);
    expect(decision.effect).toMatch(/out-of-distribution share 0.06 >= 0.06/);
    expect(decide(s).confidence!.opens).toBe(false);
  });

  it('opens nothing without an alarm, however large the effect', () => {
    const s = snapshot();
    s.detectors.classMix = detector(false);
    s.detectors.confidence = detector(false);
    s.detectors.embedding = detector(false);
    for (const decision of alertDecisions(s, monitorSettingsSchema.parse({ minTotalVariation: 0, minAccuracyDrop: 0 }))) {
      expect(decision.opens).toBe(false);
      expect(decision.effect).toMatch(/^no alarm; /);
    }
  });

  it('opens nothing before there is an estimate', () => {
    const s = snapshot();
    s.accuracy.drop = null;
    s.embedding.oodShare = null;
    s.classMix.totalVariation = null;
    expect(alertDecisions(s, monitorSettingsSchema.parse({})).every((d) => !d.opens)).toBe(true);
  });
});
