import { describe, expect, it } from 'vitest';
import { mobilenetConfigSchema, storedModelConfigSchema } from './model-config';
import { storedTrainConfigSchema, trainConfigSchema } from './train-config';

/** A train config as the hub stored it before the learning-rate schedule and augmentation existed (every field filled). */
const trainRowBeforeSchedules = { epochs: 10, batchSize: 128, learningRate: 0.001, seed: 42, backend: 'auto', replicas: 0, maxQuantizationDrop: 0.5 };

describe('configs read back from stored rows', () => {
  it('give a field the row predates the value it meant then, not the default a new config gets', () => {
    // No schedule then meant a constant learning rate; a new config gets cosine.
    expect(storedTrainConfigSchema.parse(trainRowBeforeSchedules)).toEqual({ ...trainRowBeforeSchedules, learningRateSchedule: 'constant', augmentation: 'none', initFromRun: null, reviewedShare: null, maxBaseItems: null, classPriors: null });
    expect(trainConfigSchema.parse({}).learningRateSchedule).toBe('cosine');
    // The reference CNN had no dropout before it had the field.
    const cnnRowBeforeDropout = { architecture: 'reference-cnn', inputShape: [28, 28, 1], numClasses: 10, filters: [32, 64], denseUnits: 128 };
    expect(storedModelConfigSchema.parse(cnnRowBeforeDropout)).toEqual({ ...cnnRowBeforeDropout, dropout: 0 });
  });

  it('keep what a row stored, and refuse a row without a field every stored row carries', () => {
    const stored = { ...trainRowBeforeSchedules, learningRateSchedule: 'cosine', augmentation: 'horizontal-flip', initFromRun: null, reviewedShare: null, maxBaseItems: null, classPriors: null };
    expect(storedTrainConfigSchema.parse(stored)).toEqual(stored);
    const { epochs: _epochs, ...withoutEpochs } = trainRowBeforeSchedules;
    expect(storedTrainConfigSchema.safeParse(withoutEpochs).success).toBe(false);
    const mobilenet = mobilenetConfigSchema.parse({ architecture: 'mobilenet', numClasses: 3, dropout: 0.2 });
    expect(storedModelConfigSchema.parse(mobilenet)).toEqual(mobilenet);
    const { alpha: _alpha, ...withoutAlpha } = mobilenet;
    expect(storedModelConfigSchema.safeParse(withoutAlpha).success).toBe(false);
    expect(storedModelConfigSchema.safeParse({ architecture: 'vgg', numClasses: 2 }).error?.issues[0]?.message).toBe('architecture must be one of: reference-cnn, mobilenet');
  });
});
