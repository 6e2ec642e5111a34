import { describe, expect, it } from 'vitest';
import { STAT, STATS_PER_REPLICA, exchangeBufferBytes, gradientRegion, replicaStats } from './exchange-buffer';

describe('exchange buffer layout', () => {
  it("gives each epoch statistic its own slot within a replica's stats", () => {
    expect(Object.values(STAT).sort()).toEqual(Array.from({ length: STATS_PER_REPLICA }, (_, i) => i));
  });

  it("keeps every replica's statistics apart from each other and from the gradients", () => {
    const replicas = 3;
    const paramCount = 5;
    const buffer = new SharedArrayBuffer(exchangeBufferBytes(replicas, paramCount));
    for (let step = 0; step < 2; step++) for (let r = 0; r < replicas; r++) gradientRegion(buffer, replicas, paramCount, step, r).fill(-1);
    const stats = replicaStats(buffer, replicas, paramCount);
    for (let r = 0; r < replicas; r++) for (const offset of Object.values(STAT)) stats[r * STATS_PER_REPLICA + offset] = r * 10 + offset;
    expect(Array.from(stats)).toEqual(Array.from({ length: replicas * STATS_PER_REPLICA }, (_, i) => Math.floor(i / STATS_PER_REPLICA) * 10 + (i % STATS_PER_REPLICA)));
    for (let step = 0; step < 2; step++) for (let r = 0; r < replicas; r++) expect(gradientRegion(buffer, replicas, paramCount, step, r).every((g) => g === -1)).toBe(true);
  });
});
