import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { evaluationSchema, evaluationsSchema } from './evaluation';
import { formatIssues } from './issues';
import { lineageSchema } from './lineage';
import { weightFormatsSchema } from './weight-format';

const evaluation = {
  count: 4,
  accuracy: 0.5,
  loss: 0.9,
  confusion: [
    [1, 1],
    [1, 1],
  ],
  perClass: [
    { label: 'a', precision: 0.5, recall: 0.5, support: 2 },
    { label: 'b', precision: 0.5, recall: 0.5, support: 2 },
  ],
  ece: 0.4,
  calibration: [{ confidence: 0.75, accuracy: 0.5, count: 4 }],
};

/** The one-line message a refused value gets (null when it parses). */
const issues = (result: z.ZodSafeParseResult<unknown>) => (result.success ? null : formatIssues(result.error));

describe('run and model version contracts', () => {
  it('take an evaluation per weight encoding as training makes it', () => {
    expect(evaluationsSchema.parse({ float32: evaluation, uint8: evaluation })).toEqual({ float32: evaluation, uint8: evaluation });
    expect(evaluationsSchema.parse({})).toEqual({});
  });

  it('refuse a garbled evaluation, naming the field', () => {
    expect(issues(evaluationsSchema.safeParse({ float32: { ...evaluation, accuracy: '50%' } }))).toMatch(/^float32\.accuracy: /);
    expect(issues(evaluationsSchema.safeParse({ float32: { ...evaluation, perClass: [{ label: 'a' }] } }))).toMatch(/^float32\.perClass\.0\.precision: /);
    expect(issues(evaluationSchema.safeParse({ ...evaluation, confusion: [[1.5]] }))).toMatch(/^confusion\.0\.0: /);
    // An encoding the registry does not know (a key typo, or one from a future hub) is refused, not silently dropped.
    expect(issues(evaluationsSchema.safeParse({ float64: evaluation }))).toMatch(/float64/);
  });

  it('take metrics computed in float32 just outside their mathematical range, and refuse what is no number or no square matrix', () => {
    // A softmax in float32 can give a probability of 1.0000001: a confidence above 1, a loss just below 0.
    const rounded = { ...evaluation, loss: -1.1920928955078125e-7, calibration: [{ confidence: 1.0000001192092896, accuracy: 1, count: 4 }] };
    expect(evaluationSchema.parse(rounded)).toEqual(rounded);
    expect(issues(evaluationSchema.safeParse({ ...evaluation, loss: Number.NaN }))).toMatch(/^loss: /);
    expect(issues(evaluationSchema.safeParse({ ...evaluation, ece: Number.POSITIVE_INFINITY }))).toMatch(/^ece: /);
    expect(issues(evaluationSchema.safeParse({ ...evaluation, confusion: [[1, 1], [1]] }))).toBe('confusion: must be a square matrix: one row and one column per class');
  });

  it('refuse a lineage without the fields that reproduce a run', () => {
    const lineage = {
      gitCommit: null,
      codeVersion: '@edgeloop/training@0.1.0',
      tfjsVersion: '4.22.0',
      node: 'v20.19.0',
      worker: 'w',
      host: 'h',
      platform: 'linux x64',
      cpu: '2 x cpu',
      memoryGiB: 8,
      datasetVersionId: 'a'.repeat(64),
      seed: 42,
      backend: 'cpu',
      backendDetail: 'tfjs cpu',
      replicas: 1,
      seconds: 3.5,
      requestedBy: 'ci',
      attempt: 1,
    };
    expect(lineageSchema.parse(lineage)).toEqual(lineage);
    const { seed: _seed, ...withoutSeed } = lineage;
    expect(issues(lineageSchema.safeParse(withoutSeed))).toMatch(/^seed: /);
  });

  it('take weight formats as the gate records them, and refuse a garbled one', () => {
    const formats = {
      float32: { format: 'float32', accuracy: 0.9, drop: 0, published: true, bytes: 900_000 },
      uint8: { format: 'uint8', accuracy: 0.8, drop: 10, published: false, reason: 'accuracy drop 10.00 points exceeds the 0.5 point threshold', bytes: null },
    };
    expect(weightFormatsSchema.parse(formats)).toEqual(formats);
    expect(issues(weightFormatsSchema.safeParse({ float32: { ...formats.float32, bytes: '900 kB' } }))).toMatch(/^float32\.bytes: /);
    expect(issues(weightFormatsSchema.safeParse({ float32: { ...formats.float32, format: 'int4' } }))).toMatch(/^float32\.format: format must be one of: float32, float16, uint8$/);
  });
});
