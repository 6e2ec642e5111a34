/** Latency for people: milliseconds, and the span of histogram bins worth drawing. */

export const ms = (x: number | null): string => (x === null ? '–' : x < 10 ? `${x.toFixed(1)} ms` : x < 10_000 ? `${Math.round(x)} ms` : `${(x / 1000).toFixed(1)} s`);

/**
 * The bins to draw: from the first to the last that holds any latency, widened to at least `min` bins (to the right,
 * then to the left); empty when no bin holds any. Returns [first, end) bin indices.
 */
export function drawnBins(counts: readonly number[], min = 6): [number, number] | null {
  const first = counts.findIndex((n) => n > 0);
  if (first < 0) return null;
  let end = counts.length - [...counts].reverse().findIndex((n) => n > 0);
  let start = first;
  while (end - start < min && end < counts.length) end++;
  while (end - start < min && start > 0) start--;
  return [start, end];
}

/** "1.4–2 ms" for bin i, given the bins' lower edges; the last bin is open-ended. */
export function binLabel(edges: readonly number[], i: number): string {
  const low = edges[i]!;
  const high = edges[i + 1];
  const n = (x: number) => (x < 10 ? String(Number(x.toFixed(1))) : String(Math.round(x)));
  return high === undefined ? `≥ ${n(low)} ms` : `${n(low)}–${n(high)} ms`;
}
