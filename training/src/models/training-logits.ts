/**
 * The training forward pass of a built model: its layers in order (the models are chains), with seeded dropout
 * before the classifier. The masks are seeded per step (the caller's step seed) and layer, so a run is
 * reproducible; inference never sees them, and the published graph has no dropout layer.
 */
import * as tf from '@tensorflow/tfjs';
import { LOGITS_LAYER } from './build-model';

/**
 * A layer's dropout seed: step seed * this + layer index (a model has far fewer than 1009 layers, so layers of one
 * step never share a seed). Part of what makes a run reproducible: changing it changes every model trained afterwards.
 */
export const DROPOUT_LAYER_MULTIPLIER = 1009;

/** logits: logitsModel(model); x: [batch, h, w, c] -> [batch, classes] logits, dropout `rate` before the classifier. */
export function trainingLogits(logits: tf.LayersModel, x: tf.Tensor4D, rate: number, stepSeed: number): tf.Tensor2D {
  if (rate === 0) return logits.apply(x, { training: true }) as tf.Tensor2D;
  let h: tf.Tensor = x;
  logits.layers.slice(1).forEach((layer, i) => {
    if (layer.name === LOGITS_LAYER) h = tf.dropout(h, rate, undefined, stepSeed * DROPOUT_LAYER_MULTIPLIER + i);
    h = layer.apply(h, { training: true }) as tf.Tensor;
  });
  return h as tf.Tensor2D;
}
