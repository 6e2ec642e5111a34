import { describe, expect, it } from 'vitest';
import { validateRunConfigs } from './run.service';

describe('a run config as it enters', () => {
  it('takes class priors with one share per label summing to 1, and says what is wrong otherwise', () => {
    expect(validateRunConfigs(3, undefined, { classPriors: [0.5, 0.25, 0.25] }).train.classPriors).toEqual([0.5, 0.25, 0.25]);
    expect(validateRunConfigs(3, undefined, {}).train.classPriors).toBeNull();
    expect(() => validateRunConfigs(3, undefined, { classPriors: [0.5, 0.5] })).toThrow('classPriors must have one share per label of the project (3), not 2');
    expect(() => validateRunConfigs(3, undefined, { classPriors: [0.5, 0.5, 0.5] })).toThrow('classPriors must sum to 1');
    expect(() => validateRunConfigs(3, undefined, { classPriors: [1.5, -0.25, -0.25] })).toThrow('classPriors must be shares in [0, 1]');
  });

  it('takes the fine-tune fields within their bounds', () => {
    expect(validateRunConfigs(3, undefined, { reviewedShare: 0.12, maxBaseItems: 10_000 }).train).toMatchObject({ reviewedShare: 0.12, maxBaseItems: 10_000 });
    expect(() => validateRunConfigs(3, undefined, { reviewedShare: 0.95 })).toThrow('reviewedShare must be at most 0.9');
    expect(() => validateRunConfigs(3, undefined, { maxBaseItems: 5 })).toThrow('maxBaseItems must be at least 100');
  });
});
