import { beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_OPTIONS, FIXTURE_TEMPERATURE, fixtureInput, fixtureModel } from '../test-support/monitor-fixture';
import { prepareMmdReference } from './mmd';
import { referenceProfileSummarySchema, type ProfileInput, type ReferenceProfile } from './profile';
import { packProfileArrays } from './profile-arrays';
import { buildReferenceProfile } from './profile-builder';
import { profileRuntime } from './profile-runtime';

const model = fixtureModel();
let profile: ReferenceProfile;
let input: ProfileInput;

beforeAll(() => {
  input = fixtureInput(model);
  profile = buildReferenceProfile(input);
}, 60_000);

/** A quick build (few simulated streams) for tests about determinism and inputs. */
const quick = { ...FIXTURE_OPTIONS, simulatedStreams: 100, validationStreams: 0 };

describe('buildReferenceProfile', () => {
  it('writes a summary that satisfies its schema and agrees with the test split', () => {
    const summary = referenceProfileSummarySchema.parse(JSON.parse(JSON.stringify(profile.summary)));
    const n = input.test.labels.length;
    expect(summary.counts).toEqual({ val: input.val.labels.length, test: n });
    expect(summary.confusion.flat().reduce((s, c) => s + c, 0)).toBe(n);
    expect(summary.accuracy).toBeCloseTo(summary.confusion.reduce((s, row, c) => s + row[c]!, 0) / n, 12);
    summary.confusion.forEach((row, c) => expect(summary.labelPrior[c]).toBeCloseTo(row.reduce((s, x) => s + x, 0) / n, 12));
    expect(summary.confidenceHistogram.reduce((s, c) => s + c, 0)).toBe(n);
    // tau is the 20% quantile of calibrated confidence, so about a fifth of test rows fall below it.
    expect(summary.lowConfidence.referenceRate).toBeGreaterThan(0.18);
    expect(summary.lowConfidence.referenceRate).toBeLessThanOrEqual(0.2);
    // Calibrated probabilities: the test split's CBPE is within a few points of its accuracy.
    expect(Math.abs(summary.expectedAccuracy - summary.accuracy)).toBeLessThan(0.03);
  });

  it('recovers the temperature of a head made 2.5x over-confident, and lowers the calibration error', () => {
    const { calibration } = profile.summary;
    // With 1,500 val rows at ~90% accuracy the NLL minimizer scatters by about ±8% (measured over seeds; 20,000 rows
    // give 2.53-2.54); calibration.test.ts checks the fit itself to 3% on larger data.
    expect(Math.abs(calibration.temperature / FIXTURE_TEMPERATURE - 1)).toBeLessThan(0.1);
    expect(calibration.ece.after).toBeLessThan(calibration.ece.before / 2);
    expect(calibration.valNll.after).toBeLessThan(calibration.valNll.before);
  });

  it('sets thresholds jointly: at most the target on the simulated streams, within 2 SE of it on fresh ones, less conservative than Bonferroni', () => {
    const { falseAlarms } = profile.summary;
    expect(falseAlarms.calibrationRate).toBeLessThanOrEqual(falseAlarms.calibrationTarget);
    expect(falseAlarms.calibrationTarget).toBeLessThan(falseAlarms.rate);
    const se = Math.sqrt((falseAlarms.rate * (1 - falseAlarms.rate)) / falseAlarms.validationStreams);
    expect(falseAlarms.realizedRate!).toBeLessThanOrEqual(falseAlarms.rate + 2 * se);
    expect(falseAlarms.interval![0]).toBeLessThanOrEqual(falseAlarms.realizedRate!);
    expect(falseAlarms.interval![1]).toBeGreaterThanOrEqual(falseAlarms.realizedRate!);
    expect(falseAlarms.perDetectorLevel).toBeGreaterThanOrEqual(falseAlarms.calibrationTarget / 3 - 1e-12);
    for (const h of Object.values(profile.summary.thresholds)) expect(Number.isFinite(h)).toBe(true);
  });

  it('stores an MMD reference that equals the one prepareMmdReference builds from the stored sample', () => {
    const runtime = profileRuntime(profile);
    const prepared = prepareMmdReference(Float64Array.from(profile.arrays.referenceSample), runtime.rank, { sigma: profile.summary.mmd.sigma });
    expect(runtime.mmdReference.meanReferenceKernel).toBe(prepared.meanReferenceKernel);
    expect(Array.from(runtime.mmdReference.gammas)).toEqual(Array.from(prepared.gammas));
    expect(runtime.mmdReference.size).toBe(profile.summary.mmd.referenceSize);
  });

  it('is deterministic in its seed: the same input gives the same bytes and summary, another seed other thresholds', () => {
    const a = buildReferenceProfile({ ...input, options: quick });
    const b = buildReferenceProfile({ ...input, options: quick });
    expect(packProfileArrays(b.arrays)).toEqual(packProfileArrays(a.arrays));
    expect(JSON.stringify(b.summary)).toBe(JSON.stringify(a.summary));
    const c = buildReferenceProfile({ ...input, seed: 6, options: quick });
    expect(Array.from(c.arrays.thresholds)).not.toEqual(Array.from(a.arrays.thresholds));
    expect(c.summary.calibration).toEqual(a.summary.calibration);
  });

  it('throws errors that name the field on bad input', () => {
    const d = model.d;
    const k = model.k;
    const cases: [string, Partial<ProfileInput>, RegExp][] = [
      ['one label', { labels: ['cat'] }, /labels must list at least 2/],
      ['repeated labels', { labels: ['a', 'a', 'b', 'c', 'd', 'e'] }, /labels must be distinct/],
      ['embedding size', { embeddingSize: 0 }, /embeddingSize must be an integer/],
      ['kernel shape', { head: { kernel: new Float32Array(d * k - 1), bias: model.head.bias } }, /head\.kernel must be a Float32Array of d·K = 192/],
      ['bias shape', { head: { kernel: model.head.kernel, bias: new Float32Array(k + 1) } }, /head\.bias must be a Float32Array of K = 6/],
      ['val rows', { val: { embeddings: new Float32Array(d * 10 + 1), labels: new Int32Array(10) } }, /val\.embeddings has 321 values, not a multiple of embeddingSize = 32/],
      ['val labels', { val: { embeddings: input.val.embeddings, labels: new Int32Array(3) } }, /val\.labels has 3 entries but val\.embeddings has 1500 rows/],
      ['test label range', { test: { embeddings: input.test.embeddings, labels: Int32Array.from(input.test.labels, (y, i) => (i === 4 ? 9 : y)) } }, /test\.labels\[4\] = 9 is not a class index in \[0, 6\)/],
      ['too few test rows', { test: { embeddings: input.test.embeddings.slice(0, 50 * d), labels: input.test.labels.slice(0, 50) } }, /test has 50 rows, need at least 100/],
      ['non-finite', { val: { embeddings: Float32Array.from(input.val.embeddings, (v, i) => (i === 7 ? NaN : v)), labels: input.val.labels } }, /val\.embeddings\[7\] = NaN is not finite/],
      ['options bound', { options: { window: 10 } }, /options\.window: /],
      ['options relation', { options: { horizon: 60, mmdMinWindow: 80 } }, /options\.mmdMinWindow = 80 must be <= min\(options\.window, options\.horizon\) = 60/],
      ['seed', { seed: 1.5 }, /seed must be an integer/],
    ];
    for (const [, change, message] of cases) expect(() => buildReferenceProfile({ ...input, ...change })).toThrow(message);
  });
});
