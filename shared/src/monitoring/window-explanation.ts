/**
 * The explanation parts of a monitor snapshot, computed on the current windows: which classes moved, how the
 * confidence distribution moved, what label shift would explain the mix, and the accuracy estimated without labels.
 * These p-values are shown, never alarmed on.
 */
import { jensenShannonDistance, totalVariationDistance } from './divergence';
import { expectedAccuracy, labelShiftCorrectedAccuracy } from './expected-accuracy';
import { estimatePriorsBbse, estimatePriorsEm, SingularMatrixError } from './label-shift';
import type { MonitorSnapshot } from './monitor-snapshot';
import { chiSquareSurvival } from './special-functions';
import { chiSquareGoodnessOfFit, ksTwoSampleSorted } from './two-sample';

/** False discovery rate of the per-class rose/fell marks. */
export const CLASS_CHANGE_FDR = 0.05;
/** ‖q_EM − q_BBSE‖₁ above this: the window is not explained by a change of class priors alone. */
export const NOT_PURE_LABEL_SHIFT_L1 = 0.1;

/** Benjamini–Hochberg: which of the p-values are rejected at FDR q. O(K log K). */
export function benjaminiHochberg(pValues: readonly number[], q: number): boolean[] {
  const order = pValues.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
  let last = -1;
  order.forEach(([p], rank) => {
    if (p <= ((rank + 1) / order.length) * q) last = rank;
  });
  const out = new Array<boolean>(pValues.length).fill(false);
  for (let rank = 0; rank <= last; rank++) out[order[rank]![1]] = true;
  return out;
}

/** Class mix of the window's predicted labels vs the reference mix pi0 [K]. */
export function classMixExplanation(windowLabels: readonly number[], pi0: Float64Array, labels: readonly string[]): MonitorSnapshot['classMix'] {
  const k = pi0.length;
  const counts = new Array<number>(k).fill(0);
  for (const label of windowLabels) counts[label]!++;
  const n = windowLabels.length;
  const expected = Array.from(pi0);
  if (n === 0) {
    return {
      window: 0,
      observed: counts,
      expected,
      chiSquare: null,
      jensenShannon: null,
      totalVariation: null,
      classes: labels.map((label, c) => ({ label, observed: 0, expected: expected[c]!, z: 0, change: null })),
    };
  }
  const chi = chiSquareGoodnessOfFit(counts, expected);
  const z = chi.residuals.map((value) => (Number.isFinite(value) ? value : 0));
  const rejected = benjaminiHochberg(z.map((value) => chiSquareSurvival(value * value, 1)), CLASS_CHANGE_FDR);
  return {
    window: n,
    observed: counts.map((c) => c / n),
    expected,
    chiSquare: { statistic: chi.statistic, dof: chi.dof, pValue: chi.pValue },
    jensenShannon: jensenShannonDistance(counts, expected),
    totalVariation: totalVariationDistance(counts, expected),
    classes: labels.map((label, c) => ({ label, observed: counts[c]! / n, expected: expected[c]!, z: z[c]!, change: rejected[c] ? (z[c]! > 0 ? 'rose' : 'fell') : null })),
  };
}

/** Low-confidence rate and KS of the window's calibrated confidences [n] vs the sorted reference ones. */
export function confidenceExplanation(confidences: Float64Array, tau: number, referenceRate: number, sortedReference: Float64Array): MonitorSnapshot['confidence'] {
  const n = confidences.length;
  if (n === 0) return { window: 0, lowConfidenceRate: null, referenceRate, ks: null };
  let low = 0;
  for (const c of confidences) if (c < tau) low++;
  const ks = ksTwoSampleSorted(sortedReference, Float64Array.from(confidences).sort());
  return { window: n, lowConfidenceRate: low / n, referenceRate, ks: { statistic: ks.statistic, pValue: ks.pValue } };
}

/**
 * Label shift (EM and BBSE) and label-free accuracy over the last events: probabilities [n, K] calibrated,
 * predicted [n] the devices' top-1. sourcePriors: the test label shares; jointConfusion [K, K] row = predicted.
 */
export function labelShiftAndAccuracy(
  probabilities: Float64Array,
  predicted: Uint16Array,
  k: number,
  sourcePriors: Float64Array,
  jointConfusion: Float64Array,
  reference: { accuracy: number; expected: number },
): Pick<MonitorSnapshot, 'labelShift' | 'accuracy'> {
  const n = predicted.length;
  const priors = Array.from(sourcePriors);
  if (n === 0) {
    return {
      labelShift: { events: 0, reference: priors, em: null, bbse: null, weights: null, notPureLabelShift: false },
      accuracy: { reference: reference.accuracy, referenceExpected: reference.expected, expected: null, labelShiftCorrected: null, drop: null },
    };
  }
  const em = estimatePriorsEm(probabilities, k, sourcePriors);
  const mix = new Float64Array(k);
  for (const c of predicted) mix[c]! += 1 / n;
  let bbse: Float64Array | null = null;
  try {
    const result = estimatePriorsBbse(jointConfusion, mix, k);
    // An ill-conditioned confusion makes BBSE's answer noise; show none rather than a wrong one.
    if (!result.illConditioned) bbse = result.priors;
  } catch (error) {
    if (!(error instanceof SingularMatrixError)) throw error;
  }
  let distance = 0;
  if (bbse) for (let c = 0; c < k; c++) distance += Math.abs(em.priors[c]! - bbse[c]!);
  const expected = expectedAccuracy(probabilities, k, predicted).estimate;
  const corrected = labelShiftCorrectedAccuracy(probabilities, k, em.weights, predicted).estimate;
  return {
    labelShift: { events: n, reference: priors, em: Array.from(em.priors), bbse: bbse ? Array.from(bbse) : null, weights: Array.from(em.weights), notPureLabelShift: distance > NOT_PURE_LABEL_SHIFT_L1 },
    accuracy: { reference: reference.accuracy, referenceExpected: reference.expected, expected, labelShiftCorrected: corrected, drop: 100 * (reference.expected - corrected) },
  };
}
