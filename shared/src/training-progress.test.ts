import { describe, expect, it } from 'vitest';
import { storedTrainingProgressSchema, trainingProgressSchema } from './training-progress';

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
