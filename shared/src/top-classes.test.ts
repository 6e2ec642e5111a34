import { describe, expect, it } from 'vitest';
import { DEVICE_TOP_K, topClasses } from './top-classes';

describe('the classes a device reports', () => {
  it('are the k most probable, best first, each with its label', () => {
    const labels = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    const probabilities = Float32Array.from([0.05, 0.3, 0.01, 0.4, 0.1, 0.04, 0.1]);
    const top = topClasses(probabilities, labels);
    expect(top).toHaveLength(DEVICE_TOP_K);
    expect(top.map((t) => t.label)).toEqual(['d', 'b', 'e', 'g', 'a']);
    expect(top[0]!.probability).toBeCloseTo(0.4, 6);
    expect(topClasses([0.2, 0.8], ['x', 'y'])).toEqual([{ label: 'y', probability: 0.8 }, { label: 'x', probability: 0.2 }]);
  });
});
