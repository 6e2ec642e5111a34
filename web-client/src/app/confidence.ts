/**
 * How sure the model is of one result, as the Classify view shows it. The measure is the one the hub's review queue
 * ranks by (policy margin-focus-poisson/v2, shared marginUncertainty): the margin p(1) − p(2) between the top class and
 * the runner-up. A result is "not sure" when that margin is under NOT_SURE_MARGIN = 0.5. Why 0.5: a margin under 0.5
 * means p(1) < 0.75 (as p(1) + p(2) ≤ 1), so with calibrated probabilities at least one such result in four is wrong,
 * and the runner-up is a real alternative a person should look at; at 0.5 or more the top class is at least 0.5 ahead
 * of every other. These are also the results the hub's queue asks labelers about first, so the device offers labeling
 * for the same ones.
 */
import { type TopClasses, marginUncertainty } from '@edgeloop/shared';

/** Results whose top class leads the runner-up by less than this are shown as "not sure". */
export const NOT_SURE_MARGIN = 0.5;

export interface Confidence {
  top: { label: string; probability: number };
  /** The second most probable class; null when the model has one class. */
  runnerUp: { label: string; probability: number } | null;
  /** p(1) − p(2), in [0, 1]. */
  margin: number;
  sure: boolean;
}

/** `top`: the classes of a prediction, most probable first (at least one). */
export function confidenceOf(top: TopClasses): Confidence {
  const [first, second] = top;
  if (!first) throw new RangeError('a prediction has at least one class');
  const margin = 1 - marginUncertainty(top.map((t) => t.probability));
  return { top: first, runnerUp: second ?? null, margin, sure: margin >= NOT_SURE_MARGIN };
}

/** 0.873 -> "87%"; under 1% keeps a decimal. */
export const percent = (p: number): string => `${(p * 100).toFixed(p < 0.01 ? 1 : 0)}%`;
