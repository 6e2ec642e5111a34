/** The classes a device reports with a prediction: its top 5, most probable first. */
import type { TopClasses } from './feedback';

/** How many classes devices send with each prediction (the PWA and `edgeloop replay`). */
export const DEVICE_TOP_K = 5;

/** `probabilities[i]` belongs to `labels[i]`; the k most probable, best first. */
export function topClasses(probabilities: ArrayLike<number>, labels: readonly string[], k = DEVICE_TOP_K): TopClasses {
  return Array.from(probabilities, (probability, i) => ({ label: labels[i]!, probability }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, k);
}
