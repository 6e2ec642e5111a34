/**
 * Words and numbers for the admin's monitoring page, as plain functions tested without a browser: what each detector
 * watches, how an accuracy estimate reads, which classes moved.
 */
import type { SequentialDetector } from '@edgeloop/shared';

export const DETECTOR_TITLES: Record<SequentialDetector, { title: string; watches: string }> = {
  classMix: { title: 'Class mix', watches: 'predicted classes vs the reference mix (multinomial GLR)' },
  confidence: { title: 'Confidence', watches: 'the rate of low-confidence predictions (Bernoulli CUSUM)' },
  embedding: { title: 'Embeddings', watches: 'the window of embeddings vs the reference sample (kernel MMD on PCA)' },
};

export const percent = (value: number | null | undefined, digits = 1): string =>
  value === null || value === undefined || !Number.isFinite(value) ? '–' : `${(value * 100).toFixed(digits)}%`;

/** "[81.0%, 93.5%]": a confidence interval of a share. */
export const interval = ([low, high]: readonly [number, number]): string => `[${percent(low)}, ${percent(high)}]`;

/** "−3.2 points" / "+0.4 points" / "–": an estimated accuracy change against the reference, in points. */
export function pointsChange(drop: number | null | undefined): string {
  if (drop === null || drop === undefined || !Number.isFinite(drop)) return '–';
  const change = -drop;
  return `${change > 0 ? '+' : change < 0 ? '−' : '±'}${Math.abs(change).toFixed(1)} points`;
}

export interface ClassMove {
  label: string;
  change: 'rose' | 'fell';
  observed: number;
  expected: number;
}

/** The classes the window's test found changed, largest change first: "cat rose 10% → 31%". */
export function movedClasses(classes: readonly { label: string; observed: number; expected: number; change: 'rose' | 'fell' | null }[]): ClassMove[] {
  return classes
    .filter((c): c is ClassMove => c.change !== null)
    .sort((a, b) => Math.abs(b.observed - b.expected) - Math.abs(a.observed - a.expected));
}

export const describeMove = (move: ClassMove): string => `${move.label} ${move.change} ${percent(move.expected, 0)} → ${percent(move.observed, 0)}`;
