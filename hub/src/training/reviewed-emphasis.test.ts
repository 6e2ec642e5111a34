import { sharedImageSet } from '@edgeloop/training';
import { describe, expect, it } from 'vitest';
import { emphasizeReviewed } from './reviewed-emphasis';

/** n 2x2 grey images whose first two pixels spell the item's index (high byte, low byte); label = index mod 7. */
function numbered(n: number) {
  const set = sharedImageSet(n, 2, 2, 1);
  for (let i = 0; i < n; i++) {
    set.pixels[i * 4] = i >> 8;
    set.pixels[i * 4 + 1] = i & 255;
    set.labels[i] = i % 7;
  }
  return set;
}

/** The original index of each item of a result, checking on the way that it kept its own label. */
function indices(set: ReturnType<typeof numbered>): number[] {
  return Array.from({ length: set.count }, (_, k) => {
    const index = set.pixels[k * 4]! * 256 + set.pixels[k * 4 + 1]!;
    expect(set.labels[k]).toBe(index % 7);
    return index;
  });
}

describe('a fine-tune train set', () => {
  const shape = { height: 2, width: 2 };
  const train = numbered(1000);
  // Every 50th item came from a review: 20 of 1,000.
  const isReviewed = (i: number) => i % 50 === 0;
  const reviewed = Array.from({ length: 1000 }, (_, i) => isReviewed(i));

  it('repeats reviewed items to the share asked and samples the others down, each image with its own label', () => {
    const result = emphasizeReviewed(train, reviewed, { reviewedShare: 0.2, maxBaseItems: 400, seed: 3 }, shape)!;
    // 400 others + 20 reviewed x r, r = round(0.2 * 400 / (0.8 * 20)) = 5: 100 of 500 = 20%.
    const order = indices(result.set);
    expect(order).toHaveLength(500);
    expect(order.filter(isReviewed)).toHaveLength(100);
    expect(new Set(order.filter((i) => !isReviewed(i))).size).toBe(400);
    for (const i of order.filter(isReviewed)) expect(order.filter((j) => j === i)).toHaveLength(5);
    expect(result.summary).toBe('train set: 20 reviewed items x5 (20.0% of 500), 400 of 980 other items');
  });

  it('samples the same items for the same seed and others for another', () => {
    const take = (seed: number) => indices(emphasizeReviewed(train, reviewed, { reviewedShare: null, maxBaseItems: 100, seed }, shape)!.set);
    expect(take(1)).toEqual(take(1));
    expect(take(1)).not.toEqual(take(2));
    // Reviewed items are kept whole (once each) when no share is asked.
    expect(take(1).filter(isReviewed)).toHaveLength(20);
  });

  it('changes nothing when there is nothing to repeat or sample', () => {
    expect(emphasizeReviewed(train, new Array(1000).fill(false), { reviewedShare: 0.2, maxBaseItems: null, seed: 1 }, shape)).toBeNull();
    expect(emphasizeReviewed(train, reviewed, { reviewedShare: null, maxBaseItems: 5000, seed: 1 }, shape)).toBeNull();
  });
});
