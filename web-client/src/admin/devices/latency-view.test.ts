import { LATENCY_BINS, latencyBinEdges } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import { binLabel, drawnBins, ms } from './latency-view';

describe('latency words and bins', () => {
  it('says milliseconds and seconds', () => {
    expect([ms(0.42), ms(12.6), ms(12_600), ms(null)]).toEqual(['0.4 ms', '13 ms', '12.6 s', '–']);
  });

  it('draws from the first to the last bin holding latencies, at least six wide', () => {
    const counts = new Array<number>(LATENCY_BINS).fill(0);
    expect(drawnBins(counts)).toBeNull();
    counts[10] = 3;
    expect(drawnBins(counts)).toEqual([10, 16]);
    counts[20] = 1;
    expect(drawnBins(counts)).toEqual([10, 21]);
    const last = new Array<number>(LATENCY_BINS).fill(0);
    last[LATENCY_BINS - 1] = 2;
    expect(drawnBins(last)).toEqual([LATENCY_BINS - 6, LATENCY_BINS]);
  });

  it('labels a bin by its edges', () => {
    const edges = latencyBinEdges();
    expect(binLabel(edges, 0)).toBe('0–1 ms');
    expect(binLabel(edges, 2)).toBe('1.4–2 ms');
    expect(binLabel(edges, LATENCY_BINS - 1)).toMatch(/^≥ \d+ ms$/);
  });
});
