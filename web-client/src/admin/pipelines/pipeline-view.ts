/** Pure helpers the Pipelines admin page draws with: durations, step states in words, recall drops. */

/** "0.4 s", "12 s", "3 min 05 s", "1 h 02 min"; "–" when unknown. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '–';
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(Math.round(seconds % 60)).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** Per class: champion and challenger recall (0..1 or null when the set has no item of it) and the drop in points. */
export interface RecallRow {
  label: string;
  champion: number | null;
  challenger: number | null;
  /** 100 * (champion - challenger); null when either is unknown. Positive = the challenger is worse. */
  drop: number | null;
  /** The drop is beyond the gate's bound. */
  beyond: boolean;
}

export function recallRows(labels: readonly string[], champion: readonly (number | null)[], challenger: readonly (number | null)[], maxDropPoints: number): RecallRow[] {
  return labels.map((label, i) => {
    const a = champion[i] ?? null;
    const b = challenger[i] ?? null;
    const drop = a === null || b === null ? null : 100 * (a - b);
    return { label, champion: a, challenger: b, drop, beyond: drop !== null && drop > maxDropPoints };
  });
}

export const percent = (value: number | null | undefined, digits = 1) => (value === null || value === undefined ? '–' : `${(100 * value).toFixed(digits)}%`);

/** Bytes as "812 B", "45.2 KiB", "1.3 MiB". */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export const SET_NAMES: Record<string, string> = {
  'base-test': 'Base test split',
  holdout: 'Recent holdout',
  'reweighted-test': 'Test split reweighted to current class priors',
};
