import { describe, expect, it } from 'vitest';
import { storedRunProgressSchema, storedTrainingProgressSchema, trainingProgressSchema } from './training-progress';

const progress = { epoch: 2, epochs: 15, step: 40, steps: 469, loss: 0.41, imagesPerSecond: 2100 };

describe('training progress', () => {
  it('takes what the training threads send, and refuses a garbled one', () => {
    expect(trainingProgressSchema.parse(progress)).toEqual(progress);
    expect(trainingProgressSchema.safeParse({ ...progress, step: 'forty' }).success).toBe(false);
    expect(trainingProgressSchema.safeParse({ epoch: 2 }).success).toBe(false);
  });

  it('reads a stored NaN or Infinity (JSON wrote null) back as NaN', () => {
    const stored = JSON.parse(JSON.stringify({ ...progress, loss: Number.NaN, imagesPerSecond: Number.POSITIVE_INFINITY })) as unknown;
    expect(storedTrainingProgressSchema.parse(stored)).toEqual({ ...progress, loss: Number.NaN, imagesPerSecond: Number.NaN });
  });
});

describe('run progress', () => {
  const loading = { done: 12_345, total: 70_000, fromCache: false, seconds: null };

  it('holds the loading phase, then the loading and the training', () => {
    expect(storedRunProgressSchema.parse({ loading, training: null })).toEqual({ loading, training: null });
    const both = { loading: { ...loading, done: 70_000, seconds: 98.5 }, training: progress };
    expect(storedRunProgressSchema.parse(JSON.parse(JSON.stringify(both)))).toEqual(both);
  });

  it('reads a row written before the loading phase (a bare training progress) as training without loading', () => {
    expect(storedRunProgressSchema.parse(progress)).toEqual({ loading: null, training: progress });
  });

  it('refuses a loading count that is not a count', () => {
    expect(storedRunProgressSchema.safeParse({ loading: { ...loading, done: -1 }, training: null }).success).toBe(false);
    expect(storedRunProgressSchema.safeParse({ loading: { ...loading, seconds: 'soon' }, training: null }).success).toBe(false);
  });
});
