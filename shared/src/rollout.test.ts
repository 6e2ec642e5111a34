import { describe, expect, it } from 'vitest';
import { inCanary, rolloutBucket, rolloutKey } from './rollout';
import { mulberry32 } from './seeded-random';

/** n device ids as the PWA makes them (random uuids), from a seeded generator so a failure replays. */
function deviceIds(n: number, seed: number): string[] {
  const next = mulberry32(seed);
  const hex = (digits: number) => Array.from({ length: digits }, () => Math.floor(next() * 16).toString(16)).join('');
  return Array.from({ length: n }, () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`);
}

describe('staged rollout assignment', () => {
  const ids = deviceIds(10_000, 12);
  const key = rolloutKey('fashion', 'fashion-cnn', 'production', 3);

  it('keeps a device in the same group for the whole rollout', () => {
    for (const id of ids.slice(0, 200)) {
      expect(rolloutBucket(id, key)).toBe(rolloutBucket(id, key));
      expect(inCanary(id, key, 0.1)).toBe(inCanary(id, rolloutKey('fashion', 'fashion-cnn', 'production', 3), 0.1));
    }
  });

  it('puts the share of 10,000 random devices in the canary within a few points', () => {
    for (const share of [0.01, 0.1, 0.25, 0.5]) {
      const canary = ids.filter((id) => inCanary(id, key, share)).length / ids.length;
      // Binomial sd at 10,000 is at most 0.5 points: 2 points is four of them.
      expect(Math.abs(canary - share), `share ${share}`).toBeLessThan(0.02);
    }
    // Buckets spread evenly over [0, 1): each tenth holds about a tenth.
    const tenths = new Array<number>(10).fill(0);
    for (const id of ids) tenths[Math.floor(rolloutBucket(id, key) * 10)]!++;
    for (const count of tenths) expect(Math.abs(count / ids.length - 0.1)).toBeLessThan(0.02);
  });

  it('spreads ids that differ only in their last characters (simulated devices are named device-1, device-2, ...)', () => {
    const sequential = Array.from({ length: 2_000 }, (_, i) => `replay-${i + 1}`);
    for (const share of [0.1, 0.5]) {
      const canary = sequential.filter((id) => inCanary(id, key, share)).length / sequential.length;
      // Binomial sd at 2,000 is at most 1.1 points: 4 points is over three of them.
      expect(Math.abs(canary - share), `share ${share}`).toBeLessThan(0.04);
    }
    // Neighbours are not neighbours in the buckets.
    const first = sequential.slice(0, 8).map((id) => inCanary(id, key, 0.5));
    expect(new Set(first).size).toBe(2);
  });

  it('grows the canary by keeping its devices when the share rises', () => {
    const small = new Set(ids.filter((id) => inCanary(id, key, 0.1)));
    const large = new Set(ids.filter((id) => inCanary(id, key, 0.3)));
    expect([...small].every((id) => large.has(id))).toBe(true);
  });

  it('reshuffles for a new candidate: the next canary is not the same devices again', () => {
    const now = new Set(ids.filter((id) => inCanary(id, key, 0.1)));
    const next = ids.filter((id) => inCanary(id, rolloutKey('fashion', 'fashion-cnn', 'production', 4), 0.1));
    const overlap = next.filter((id) => now.has(id)).length / next.length;
    // Independent draws overlap by about the share (10%), not 100%.
    expect(overlap).toBeLessThan(0.2);
    expect(Math.abs(next.length / ids.length - 0.1)).toBeLessThan(0.02);
    // Another channel or model is another rollout too.
    const staging = ids.filter((id) => inCanary(id, rolloutKey('fashion', 'fashion-cnn', 'staging', 3), 0.1));
    expect(staging.filter((id) => now.has(id)).length / staging.length).toBeLessThan(0.2);
  });
});
