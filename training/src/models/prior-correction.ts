/**
 * Label-shift correction of a trained classifier: when the class mix a model will see (priors p) differs from the
 * one it was trained on (q), Bayes' rule says p'(c | x) ∝ p(c | x) · p_c / q_c. Adding log(p_c / q_c) to the bias
 * of the logits layer does exactly that inside the model, so devices run the corrected model unchanged
 * (Saerens, Latinne & Decaestecker 2002; Lipton, Wang & Smola 2018 estimate p by BBSE, as the hub's monitor does).
 */
import * as tf from '@tensorflow/tfjs';
import { LOGITS_LAYER } from './build-model';

/** Neither a target nor a train share is taken below this: an absent class must not become -Infinity. */
const MIN_SHARE = 1e-4;

/** log(p_c / q_c) per class, with q the class shares of `trainLabels` (class indices) and p `priors` (summing to 1). */
export function priorCorrectionOffsets(priors: readonly number[], trainLabels: ArrayLike<number>, count: number): Float32Array {
  const counts = new Float64Array(priors.length);
  for (let i = 0; i < count; i++) counts[trainLabels[i]!]!++;
  return Float32Array.from(priors, (p, c) => Math.log(Math.max(p, MIN_SHARE) / Math.max(counts[c]! / Math.max(count, 1), MIN_SHARE)));
}

/** Adds `offsets` to the bias of the model's logits layer, in place. */
export function shiftLogitsBias(model: tf.LayersModel, offsets: Float32Array): void {
  const layer = model.getLayer(LOGITS_LAYER);
  const [kernel, bias] = layer.getWeights();
  if (!kernel || !bias || bias.size !== offsets.length) throw new Error(`the ${LOGITS_LAYER} layer has ${bias?.size ?? 0} outputs, the priors name ${offsets.length} classes`);
  const shifted = tf.tidy(() => bias.add(tf.tensor1d(offsets)));
  layer.setWeights([kernel, shifted]);
  shifted.dispose();
}
