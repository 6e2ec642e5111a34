import { describe, expect, it } from 'vitest';
import { bytes, duration, recallRows } from './pipeline-view';

describe('pipeline view helpers', () => {
  it('writes durations people read at a glance', () => {
    expect([duration(null), duration(0.42), duration(12.4), duration(185), duration(3720)]).toEqual(['–', '0.4 s', '12 s', '3 min 05 s', '1 h 02 min']);
  });

  it('marks a class whose recall fell by more than the bound, not one that rose or has no items', () => {
    const rows = recallRows(['cat', 'dog', 'bird'], [0.9, 0.5, null], [0.8, 0.7, 0.4], 5);
    expect(rows.map((r) => [r.label, r.drop === null ? null : Math.round(r.drop), r.beyond])).toEqual([
      ['cat', 10, true],
      ['dog', -20, false],
      ['bird', null, false],
    ]);
  });

  it('writes sizes in binary units', () => {
    expect([bytes(812), bytes(46_285), bytes(1_363_149)]).toEqual(['812 B', '45.2 KiB', '1.3 MiB']);
  });
});
