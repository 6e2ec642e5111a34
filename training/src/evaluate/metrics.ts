/** Classification metrics from predicted probabilities: accuracy, per-class precision/recall, confusion, ECE. */
import { CALIBRATION_BINS, type Evaluation, argmaxRow, expectedCalibrationError } from '@edgeloop/shared';

/** An empty split's calibration: every bin empty (what the bins of no predictions are). */
const NO_CALIBRATION = { ece: 0, bins: Array.from({ length: CALIBRATION_BINS }, () => ({ confidence: 0, accuracy: 0, count: 0 })) };

/** probabilities: count * labels.length values, row-major [count, classes]; actual: count class indices. */
export function evaluatePredictions(probabilities: Float32Array, actual: ArrayLike<number>, labels: string[]): Evaluation {
  const k = labels.length;
  const count = actual.length;
  const confusion = labels.map(() => new Array<number>(k).fill(0));
  let correct = 0;
  let loss = 0;
  for (let i = 0; i < count; i++) {
    const predicted = argmaxRow(probabilities, k, i);
    const truth = actual[i]!;
    confusion[truth]![predicted]!++;
    if (predicted === truth) correct++;
    loss -= Math.log(Math.max(probabilities[i * k + truth]!, 1e-7));
  }
  const perClass = labels.map((label, c) => {
    const truePositives = confusion[c]![c]!;
    const predictedAs = confusion.reduce((sum, row) => sum + row[c]!, 0);
    const support = confusion[c]!.reduce((a, b) => a + b, 0);
    return { label, precision: predictedAs ? truePositives / predictedAs : 0, recall: support ? truePositives / support : 0, support };
  });
  // The same calibration error the hub's monitoring computes on production windows, so the two compare.
  const calibration = count ? expectedCalibrationError(probabilities, actual, k) : NO_CALIBRATION;
  return {
    count,
    accuracy: count ? correct / count : 0,
    loss: count ? loss / count : 0,
    confusion,
    perClass,
    ece: calibration.ece,
    calibration: calibration.bins,
  };
}
