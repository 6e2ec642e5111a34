/** Classification metrics from predicted probabilities: accuracy, per-class precision/recall, confusion, ECE. */
import type { Evaluation } from '@edgeloop/shared';

const CALIBRATION_BINS = 15;

/** probabilities: count * labels.length values, row-major [count, classes]; actual: count class indices. */
export function evaluatePredictions(probabilities: Float32Array, actual: ArrayLike<number>, labels: string[]): Evaluation {
  const k = labels.length;
  const count = actual.length;
  const confusion = labels.map(() => new Array<number>(k).fill(0));
  const bins = Array.from({ length: CALIBRATION_BINS }, () => ({ confidence: 0, correct: 0, count: 0 }));
  let correct = 0;
  let loss = 0;
  for (let i = 0; i < count; i++) {
    let predicted = 0;
    for (let c = 1; c < k; c++) if (probabilities[i * k + c]! > probabilities[i * k + predicted]!) predicted = c;
    const truth = actual[i]!;
    const confidence = probabilities[i * k + predicted]!;
    confusion[truth]![predicted]!++;
    if (predicted === truth) correct++;
    loss -= Math.log(Math.max(probabilities[i * k + truth]!, 1e-7));
    const bin = bins[Math.min(CALIBRATION_BINS - 1, Math.floor(confidence * CALIBRATION_BINS))]!;
    bin.confidence += confidence;
    bin.correct += predicted === truth ? 1 : 0;
    bin.count++;
  }
  const perClass = labels.map((label, c) => {
    const truePositives = confusion[c]![c]!;
    const predictedAs = confusion.reduce((sum, row) => sum + row[c]!, 0);
    const support = confusion[c]!.reduce((a, b) => a + b, 0);
    return { label, precision: predictedAs ? truePositives / predictedAs : 0, recall: support ? truePositives / support : 0, support };
  });
  const ece = bins.reduce((sum, b) => sum + (b.count ? (b.count / count) * Math.abs(b.correct / b.count - b.confidence / b.count) : 0), 0);
  return {
    count,
    accuracy: count ? correct / count : 0,
    loss: count ? loss / count : 0,
    confusion,
    perClass,
    ece,
    calibration: bins.map((b) => ({ confidence: b.count ? b.confidence / b.count : 0, accuracy: b.count ? b.correct / b.count : 0, count: b.count })),
  };
}
