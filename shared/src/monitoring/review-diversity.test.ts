import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../seeded-random';
import { diverseOrder, kCenterOrder, minPairwiseDistance } from './review-diversity';

/**
 * A clustered candidate set: C tight clusters in r dimensions (centres ~N(0, 5²), points ±0.05 around them), each
 * point with an uncertainty, the most doubtful ones all in cluster 0 (as near-copies of one hard picture would be).
 */
function clustered(seed: number, clusters: number, perCluster: number, r: number) {
  const random = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const centres = Array.from({ length: clusters }, () => Array.from({ length: r }, () => 5 * gauss()));
  const points: { id: number; cluster: number; uncertainty: number; x: Float64Array }[] = [];
  for (let c = 0; c < clusters; c++) {
    for (let i = 0; i < perCluster; i++) {
      const x = Float64Array.from(centres[c]!, (v) => v + 0.05 * gauss());
      points.push({ id: points.length, cluster: c, uncertainty: (c === 0 ? 0.5 : 0) + 0.5 * random(), x });
    }
  }
  return points.sort((a, b) => b.uncertainty - a.uncertainty);
}

describe('batch diversity by greedy k-center', () => {
  it('spreads a batch over the clusters where uncertainty-only order takes near-copies from one', () => {
    const r = 8;
    const candidates = clustered(3, 6, 30, r);
    const k = 12;
    const byUncertainty = candidates.slice(0, k);
    const diverse = diverseOrder(candidates, (c) => c.x, k).slice(0, k);
    const points = new Float64Array(candidates.length * r);
    candidates.forEach((c, i) => points.set(c.x, i * r));
    const index = new Map(candidates.map((c, i) => [c.id, i]));
    const spread = (batch: typeof candidates) => minPairwiseDistance(points, r, batch.map((c) => index.get(c.id)!));
    const clustersOf = (batch: typeof candidates) => new Set(batch.map((c) => c.cluster)).size;
    expect(clustersOf(byUncertainty)).toBe(1);
    expect(clustersOf(diverse)).toBe(6);
    expect(spread(diverse)).toBeGreaterThan(2 * spread(byUncertainty));
    // It starts from the most doubtful candidate, and places each once.
    expect(diverse[0]).toBe(candidates[0]);
    expect(new Set(diverseOrder(candidates, (c) => c.x, k).map((c) => c.id)).size).toBe(candidates.length);
  });

  it('is farthest-first: each pick is the point farthest from those chosen', () => {
    // On a line 0, 1, 2, 10 from 0: 10 is farthest, then 2 (2 from its nearest, 0), then 1.
    const points = Float64Array.from([0, 1, 2, 10]);
    expect(kCenterOrder(points, 4, 1, 4, 0)).toEqual([0, 3, 2, 1]);
    expect(kCenterOrder(points, 4, 1, 2, 3)).toEqual([3, 0]);
    expect(kCenterOrder(new Float64Array(0), 0, 1, 3)).toEqual([]);
    // Weighted by uncertainty: a doubtful point a little nearer wins over a confident one farther away.
    const line = Float64Array.from([0, 6, 5]);
    expect(kCenterOrder(line, 3, 1, 2, 0)).toEqual([0, 1]);
    expect(kCenterOrder(line, 3, 1, 2, 0, [1, 0.1, 1])).toEqual([0, 2]);
    expect(() => kCenterOrder(line, 3, 1, 2, 0, [1])).toThrow(/weights must hold n = 3/);
    expect(() => kCenterOrder(points, 3, 1, 2)).toThrow(/n\*r = 3/);
  });

  it('keeps candidates without coordinates after the others, in their order', () => {
    const candidates = [
      { id: 'a', x: Float64Array.from([0, 0]) },
      { id: 'b', x: null },
      { id: 'c', x: Float64Array.from([0, 0.1]) },
      { id: 'd', x: Float64Array.from([5, 5]) },
      { id: 'e', x: Float64Array.from([1]) }, // another size: no coordinates in this basis
    ];
    expect(diverseOrder(candidates, (c) => c.x, 2).map((c) => c.id)).toEqual(['a', 'd', 'c', 'b', 'e']);
    expect(diverseOrder([candidates[1]!], (c) => c.x, 2).map((c) => c.id)).toEqual(['b']);
  });
});
