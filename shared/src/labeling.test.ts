import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LABELING_SETTINGS, labelingSettingsSchema, splitForSha256 } from './labeling';

describe('labeling settings and the split of an accepted image', () => {
  it('splits by the sha256 alone, 80/10/10', () => {
    const counts = { train: 0, val: 0, test: 0 };
    const N = 20_000;
    for (let i = 0; i < N; i++) counts[splitForSha256(crypto.createHash('sha256').update(String(i)).digest('hex'))]++;
    // Binomial SE at 20,000 draws is under 0.003.
    expect(Math.abs(counts.train / N - 0.8)).toBeLessThan(0.012);
    expect(Math.abs(counts.val / N - 0.1)).toBeLessThan(0.01);
    expect(Math.abs(counts.test / N - 0.1)).toBeLessThan(0.01);
    expect(splitForSha256('0'.repeat(64))).toBe('train');
    expect(splitForSha256('f'.repeat(64))).toBe('test');
    expect(splitForSha256(`e${'0'.repeat(63)}`)).toBe('val'); // 0xe0000000 / 2^32 = 0.875
    expect(() => splitForSha256('XYZ')).toThrow(/sha256 must be lower-case hex/);
  });

  it('defaults to no collected images and two agreeing labelers, and refuses names a database cannot store', () => {
    expect(DEFAULT_LABELING_SETTINGS).toEqual({ collectReviewedImages: false, acceptance: { agreement: 2, trustedLabelers: [] } });
    expect(labelingSettingsSchema.safeParse({ acceptance: { trustedLabelers: ['a\u0000b'] } }).success).toBe(false);
    expect(labelingSettingsSchema.safeParse({ acceptance: { agreement: 1 } }).success).toBe(false);
    expect(labelingSettingsSchema.parse({ acceptance: { agreement: null } }).acceptance).toEqual({ agreement: null, trustedLabelers: [] });
  });
});
