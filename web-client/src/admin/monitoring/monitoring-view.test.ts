import { describe, expect, it } from 'vitest';
import { describeMove, interval, movedClasses, percent, pointsChange } from './monitoring-view';

describe('monitoring view words', () => {
  it('reads an estimated drop as a signed change in points', () => {
    expect(pointsChange(3.24)).toBe('−3.2 points');
    expect(pointsChange(-0.4)).toBe('+0.4 points');
    expect(pointsChange(0)).toBe('±0.0 points');
    expect(pointsChange(null)).toBe('–');
  });

  it('lists the classes that moved, largest change first, and says how', () => {
    const moves = movedClasses([
      { label: 'cat', observed: 0.31, expected: 0.1, change: 'rose' },
      { label: 'dog', observed: 0.09, expected: 0.1, change: null },
      { label: 'bird', observed: 0, expected: 0.1, change: 'fell' },
    ]);
    expect(moves.map(describeMove)).toEqual(['cat rose 10% → 31%', 'bird fell 10% → 0%']);
    expect(percent(Number.NaN)).toBe('–');
    expect(interval([0.81, 0.935])).toBe('[81.0%, 93.5%]');
  });
});
