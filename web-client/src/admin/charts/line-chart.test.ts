import { describe, expect, it } from 'vitest';
import { type LineChartSpec, chartData, chartOptions, describeChart, formatValue, yRange } from './line-chart';

const epochs: LineChartSpec = {
  xLabel: 'epoch',
  xKind: 'step',
  x: [1, 2, 3],
  series: [
    { label: 'train', color: '#2456a8', values: [0.5, 0.7, 0.8] },
    { label: 'val', color: '#d07000', values: [0.55, 0.72] }, // the third epoch's validation is not in yet
  ],
  thresholds: [],
  valueFormat: 'percent',
};

describe('line chart', () => {
  it('gives uPlot one column per series, as long as x, with null where a series has no value yet', () => {
    expect(chartData(epochs.x, epochs.series)).toEqual([
      [1, 2, 3],
      [0.5, 0.7, 0.8],
      [0.55, 0.72, null],
    ]);
  });

  it('widens the y range to show a threshold that lies outside the data', () => {
    const [lo, hi] = yRange(0.02, 0.08, [{ label: 'alert', value: 0.2 }]);
    expect(lo).toBeLessThanOrEqual(0.02);
    expect(hi).toBeGreaterThanOrEqual(0.2);
    expect(yRange(null, null, [])).toEqual([0, 1]);
  });

  it('says the numbers in words, for screen readers and for whoever cannot see the canvas', () => {
    expect(describeChart('Accuracy', epochs)).toBe('Accuracy over 3 epochs (1 to 3): train 50.0% to 80.0%, val 55.0% to 72.0%');
    const drift = { ...epochs, x: [7], xLabel: 'window', valueFormat: 'decimal' as const, series: [{ label: 'PSI', color: '#000', values: [0.1234] }], thresholds: [{ label: 'alert', value: 0.2 }] };
    expect(describeChart('Class mix drift', drift)).toBe('Class mix drift over window 7: PSI 0.1234, alert at 0.2000');
    expect(describeChart('Loss', { ...epochs, x: [], series: [] })).toBe('Loss: no data yet');
  });

  it('formats values as percent or decimals, and a missing value as a dash', () => {
    expect(formatValue(0.8123, 'percent')).toBe('81.2%');
    expect(formatValue(1.23456, 'decimal')).toBe('1.235');
    expect(formatValue(null, 'decimal')).toBe('–');
  });

  it('draws thresholds only when there are some, and labels whole-number x ticks', () => {
    const size = { width: 390, height: 180 };
    expect(chartOptions(epochs, size).hooks?.draw).toEqual([]);
    expect(chartOptions({ ...epochs, thresholds: [{ label: 'alert', value: 0.9 }] }, size).hooks?.draw).toHaveLength(1);
    const options = chartOptions(epochs, size);
    expect(options.series.map((s) => s.label)).toEqual(['epoch', 'train', 'val']);
    expect(options.axes?.[0]?.incrs).toContain(1);
  });
});
