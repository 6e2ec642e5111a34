/**
 * What LineChart.svelte draws, as plain functions: uPlot options and data from series and thresholds, and the text
 * that says the same numbers in words. Kept apart from the component so they are tested without a browser.
 */
import uPlot from 'uplot';

/** One line: a value per x (null where it has none, e.g. an epoch still running). */
export interface LineSeries {
  label: string;
  color: string;
  values: readonly (number | null)[];
}

/** A horizontal line at a fixed value, e.g. the drift statistic above which an alert fires. */
export interface Threshold {
  label: string;
  value: number;
  color?: string;
}

/** 'step': x counts something (epochs, windows) and gets whole-number ticks; 'time': x is unix seconds. */
export type XKind = 'step' | 'time';
export type ValueFormat = 'decimal' | 'percent';

export interface LineChartSpec {
  xLabel: string;
  xKind: XKind;
  x: readonly number[];
  series: readonly LineSeries[];
  thresholds: readonly Threshold[];
  valueFormat: ValueFormat;
}

const THRESHOLD_COLOR = '#b00020';

export function formatValue(value: number | null | undefined, format: ValueFormat): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  return format === 'percent' ? `${(value * 100).toFixed(1)}%` : value.toPrecision(4);
}

export function formatX(x: number, kind: XKind): string {
  return kind === 'time' ? new Date(x * 1000).toLocaleString() : String(x);
}

/** uPlot's columnar data: [x, ...one array per series], all the length of x. */
export function chartData(x: readonly number[], series: readonly LineSeries[]): uPlot.AlignedData {
  return [Array.from(x), ...series.map((s) => Array.from(x, (_, i) => s.values[i] ?? null))];
}

/** The y range: the data's, widened to show every threshold, with a little air above and below. */
export function yRange(min: number | null, max: number | null, thresholds: readonly Threshold[]): [number, number] {
  const values = [min, max, ...thresholds.map((t) => t.value)].filter((v): v is number => v !== null && Number.isFinite(v));
  if (!values.length) return [0, 1];
  const [lo, hi] = uPlot.rangeNum(Math.min(...values), Math.max(...values), 0.1, true);
  return [lo!, hi!];
}

/** One sentence with the numbers the chart shows: its accessible name, read instead of the canvas. */
export function describeChart(title: string, spec: LineChartSpec): string {
  const { x, xKind, xLabel, series, thresholds, valueFormat } = spec;
  if (!x.length) return `${title}: no data yet`;
  const span = x.length === 1 ? `${xLabel} ${formatX(x[0]!, xKind)}` : `${x.length} ${xLabel}s (${formatX(x[0]!, xKind)} to ${formatX(x[x.length - 1]!, xKind)})`;
  const lines = series.map((s) => {
    const first = s.values.find((v) => v !== null);
    const last = s.values.findLast((v) => v !== null);
    return x.length === 1 || first === undefined ? `${s.label} ${formatValue(last, valueFormat)}` : `${s.label} ${formatValue(first, valueFormat)} to ${formatValue(last, valueFormat)}`;
  });
  const limits = thresholds.map((t) => `${t.label} at ${formatValue(t.value, valueFormat)}`);
  return `${title} over ${span}: ${[...lines, ...limits].join(', ')}`;
}

/** Dashed horizontal lines with their label, drawn over the plot area after the series. */
function drawThresholds(thresholds: readonly Threshold[], valueFormat: ValueFormat) {
  return (u: uPlot) => {
    const { ctx, bbox } = u;
    const ratio = uPlot.pxRatio;
    ctx.save();
    ctx.lineWidth = ratio;
    ctx.setLineDash([6 * ratio, 4 * ratio]);
    ctx.font = `${11 * ratio}px system-ui, sans-serif`;
    ctx.textAlign = 'right';
    for (const t of thresholds) {
      const y = Math.round(u.valToPos(t.value, 'y', true));
      ctx.strokeStyle = ctx.fillStyle = t.color ?? THRESHOLD_COLOR;
      ctx.beginPath();
      ctx.moveTo(bbox.left, y);
      ctx.lineTo(bbox.left + bbox.width, y);
      ctx.stroke();
      ctx.fillText(`${t.label} ${formatValue(t.value, valueFormat)}`, bbox.left + bbox.width - 4 * ratio, y - 4 * ratio);
    }
    ctx.restore();
  };
}

/**
 * The legend shows the last values when the cursor is not on a point (uPlot would show "--"), also after new data
 * comes in: uPlot keeps the legend's index across setData, which would leave it on an old epoch.
 */
function legendAtLastPoint(u: uPlot) {
  if (u.status !== 1) return; // setData also fires while the plot is being built
  const last = u.data[0].length - 1;
  if (u.cursor.idx === null || u.cursor.idx === undefined) u.setLegend({ idx: Math.max(0, last) }, false);
}

export function chartOptions(spec: Omit<LineChartSpec, 'x'>, size: { width: number; height: number }): uPlot.Options {
  const { xLabel, xKind, series, thresholds, valueFormat } = spec;
  const value = (_u: uPlot, v: number | null) => formatValue(v, valueFormat);
  return {
    ...size,
    scales: {
      x: { time: xKind === 'time' },
      y: { range: (_u, min, max) => yRange(min, max, thresholds) },
    },
    series: [
      { label: xLabel, value: (_u, v) => (v === null ? '–' : formatX(v, xKind)) },
      ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, value, points: { show: true, size: 6, fill: s.color } })),
    ],
    axes: [
      // Epochs and windows are whole numbers: no tick at 1.5.
      xKind === 'step' ? { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], values: (_u, ticks) => ticks.map((t) => String(t)) } : {},
      { size: 56, values: (_u, ticks) => ticks.map((t) => (valueFormat === 'percent' ? `${Math.round(t * 1000) / 10}%` : String(t))) },
    ],
    legend: { live: true },
    hooks: { draw: thresholds.length ? [drawThresholds(thresholds, valueFormat)] : [], ready: [legendAtLastPoint], setCursor: [legendAtLastPoint], setData: [legendAtLastPoint] },
  };
}
