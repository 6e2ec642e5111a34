/**
 * The rollout verdict's rules on groups as the monitors report them: which differences are regressions, when they are
 * judged, and what waits. (The same rules on real monitor streams: rollout-check.test.ts.)
 */
import { DEFAULT_PIPELINE_SETTINGS } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import { type CanaryGroup, JUDGE_AFTER_EVENTS, MAX_UNREADABLE_RISE, MIN_LATENCY_RISE_MS, MIN_REVIEW_LABELS, judgeCanary } from './canary.service';

const settings = DEFAULT_PIPELINE_SETTINGS.rollout;
const clean = (version: number, events: number): CanaryGroup => ({
  version,
  events,
  unreadable: 0,
  accuracyEstimate: 0.9,
  expectedAccuracy: 0.9,
  latencyP95Ms: 8,
  openAlerts: [],
  reviews: null,
});
const alert = (detector: string) => ({ detector, openedAt: '2026-11-30T00:00:00.000Z', statistic: 9, threshold: 5 });

describe('the canary verdict', () => {
  it('waits below minCanaryEvents and promotes at it when nothing regressed', () => {
    expect(judgeCanary({ canary: clean(3, settings.minCanaryEvents - 1), production: clean(2, 5000) }, settings)).toMatchObject({ decision: 'wait', regressions: [] });
    const ready = judgeCanary({ canary: clean(3, settings.minCanaryEvents), production: clean(2, 5000) }, settings);
    expect(ready.decision).toBe('promote');
    expect(ready.reason).toContain(`${settings.minCanaryEvents} canary events (needed ${settings.minCanaryEvents}) with no regression`);
  });

  it("says the canary cannot be judged when the monitor reads none of its events, and waits for a person", () => {
    const why = 'dataset version 2a6ee59ae7d4 has 13 val and 510 test items; a profile needs at least 20 val';
    const verdict = judgeCanary({ canary: { ...clean(3, 0), unmonitored: why }, production: clean(2, 5000) }, settings);
    expect(verdict).toEqual({ decision: 'wait', reason: `canary v3 vs production v2: the monitor cannot read the canary's events (${why}); decide by hand`, regressions: [] });
  });

  it('aborts on an open alert the canary has and production has not, however few its events; an alert both have is not the canary\'s doing', () => {
    const shared = judgeCanary({ canary: { ...clean(3, 10), openAlerts: [alert('classMix')] }, production: { ...clean(2, 5000), openAlerts: [alert('classMix')] } }, settings);
    expect(shared.decision).toBe('wait');
    const own = judgeCanary({ canary: { ...clean(3, 10), openAlerts: [alert('embedding')] }, production: clean(2, 5000) }, settings);
    expect(own).toMatchObject({ decision: 'abort', regressions: ['an open embedding alert on the canary (statistic 9.00, threshold 5.00) that production does not have'] });
  });

  it('judges accuracy and latency only once the canary has enough events to tell', () => {
    const few = JUDGE_AFTER_EVENTS - 1;
    const slowAndWorse = (events: number): CanaryGroup => ({ ...clean(3, events), accuracyEstimate: 0.8, latencyP95Ms: 32 });
    expect(judgeCanary({ canary: slowAndWorse(few), production: clean(2, 5000) }, settings).decision).toBe('wait');
    const judged = judgeCanary({ canary: slowAndWorse(JUDGE_AFTER_EVENTS), production: clean(2, 5000) }, settings);
    expect(judged.decision).toBe('abort');
    expect(judged.regressions).toEqual([
      `label-free accuracy estimate 80.0% on the canary vs 90.0% in production: 10.0 points lower (bound ${settings.maxAccuracyDrop})`,
      `p95 latency 32 ms on the canary vs 8.0 ms in production: 4.00x (bound ${settings.maxLatencyRatio}x)`,
    ]);
    // Twice as slow but by a few ms only (fast models differ by a latency bin between devices): not a regression.
    const fastPair = judgeCanary({ canary: { ...clean(3, JUDGE_AFTER_EVENTS), latencyP95Ms: 2.8 }, production: { ...clean(2, 5000), latencyP95Ms: 1.4 } }, settings);
    expect(fastPair.regressions).toEqual([]);
    expect(MIN_LATENCY_RISE_MS).toBeGreaterThan(2.8 - 1.4);
    // Within the bounds: no regression.
    const within = { ...clean(3, JUDGE_AFTER_EVENTS), accuracyEstimate: 0.9 - (settings.maxAccuracyDrop - 0.5) / 100, latencyP95Ms: 8 * settings.maxLatencyRatio };
    expect(judgeCanary({ canary: within, production: clean(2, 5000) }, settings).regressions).toEqual([]);
  });

  it("does not compare label-free estimates while production's inputs have drifted (their calibration does not hold there)", () => {
    const lower = { ...clean(3, JUDGE_AFTER_EVENTS), accuracyEstimate: 0.458 };
    const drifted = (detector: string) => ({ ...clean(2, 5000), accuracyEstimate: 0.504, openAlerts: [alert(detector)] });
    for (const detector of ['embedding', 'confidence']) {
      const verdict = judgeCanary({ canary: lower, production: drifted(detector) }, settings);
      expect(verdict.regressions).toEqual([]);
      expect(verdict.reason).toContain("accuracy estimate 45.8% vs 50.4% (not compared: production's inputs drifted)");
    }
    // A class-mix alert alone: the estimate corrects for label shift, so it is compared.
    expect(judgeCanary({ canary: lower, production: drifted('classMix') }, settings).regressions).toEqual([
      `label-free accuracy estimate 45.8% on the canary vs 50.4% in production: 4.6 points lower (bound ${settings.maxAccuracyDrop})`,
    ]);
  });

  it('counts unreadable events and reviews as regressions only past their bounds', () => {
    const events = 200;
    const unreadable = Math.ceil(((MAX_UNREADABLE_RISE + 1) / 100) * events);
    expect(judgeCanary({ canary: { ...clean(3, events), unreadable }, production: clean(2, 5000) }, settings).regressions).toEqual([
      `${unreadable} of ${events} canary events unreadable vs 0 of 5000 in production: ${((100 * unreadable) / events).toFixed(1)} points more (bound ${MAX_UNREADABLE_RISE})`,
    ]);
    const reviews = (estimate: number, upper: number, labels: number) => ({ labels, estimate, interval: [estimate - 0.05, upper] as [number, number] });
    const worse = { ...clean(3, events), reviews: reviews(0.7, 0.8, MIN_REVIEW_LABELS) };
    const production = { ...clean(2, 5000), reviews: reviews(0.9, 0.93, 200) };
    expect(judgeCanary({ canary: worse, production }, settings).regressions).toEqual([
      `accuracy from reviews 70.0% (95% up to 80.0%, ${MIN_REVIEW_LABELS} labels) on the canary vs 90.0% (200 labels) in production (bound ${settings.maxAccuracyDrop} points)`,
    ]);
    // Too few labels to tell, or an interval that reaches production's accuracy: no regression.
    expect(judgeCanary({ canary: { ...worse, reviews: reviews(0.7, 0.8, MIN_REVIEW_LABELS - 1) }, production }, settings).regressions).toEqual([]);
    expect(judgeCanary({ canary: { ...worse, reviews: reviews(0.85, 0.95, MIN_REVIEW_LABELS) }, production }, settings).regressions).toEqual([]);
  });
});
