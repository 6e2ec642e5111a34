/**
 * Warm start: a freshly built model takes another run's float32 weights before its first training step. The weights
 * are matched by position (model.weights order, the order model.save writes them): layer names differ between
 * builds in one process (tfjs numbers them), shapes do not, and every shape is checked.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelArtifacts } from '../export/model-artifacts';

export type InitialWeights = Pick<ModelArtifacts, 'weightSpecs' | 'weightData'>;

/** Sets every weight of `model` from float32 artifacts of a model with the same architecture; throws, saying which weight does not fit. */
export function setInitialWeights(model: tf.LayersModel, initial: InitialWeights): void {
  const weights = model.weights;
  const specs = initial.weightSpecs;
  if (specs.length !== weights.length) {
    throw new Error(`the initial weights do not fit the model: they hold ${specs.length} weight tensors, the model has ${weights.length}`);
  }
  let offset = 0;
  const tensors: tf.Tensor[] = [];
  try {
    specs.forEach((spec, i) => {
      const target = weights[i]!;
      if (spec.dtype !== 'float32' || spec.quantization) throw new Error(`initial weight ${spec.name} is ${spec.quantization?.dtype ?? spec.dtype}; a warm start takes float32 weights`);
      if (spec.shape.length !== target.shape.length || spec.shape.some((d, k) => d !== target.shape[k])) {
        throw new Error(`the initial weights do not fit the model: weight ${i + 1} (${spec.name}) has shape [${spec.shape.join(', ')}], the model's ${target.originalName} has [${target.shape.join(', ')}]`);
      }
      const bytes = spec.shape.reduce((a, b) => a * b, 1) * 4;
      if (offset + bytes > initial.weightData.length) throw new Error(`the initial weights end before weight ${i + 1} (${spec.name}): ${initial.weightData.length} bytes`);
      // A copy: the bytes may not be 4-byte aligned in their buffer.
      const values = new Float32Array(initial.weightData.slice(offset, offset + bytes).buffer);
      offset += bytes;
      tensors.push(tf.tensor(values, spec.shape, 'float32'));
    });
    if (offset !== initial.weightData.length) throw new Error(`the initial weights hold ${initial.weightData.length} bytes, ${initial.weightData.length - offset} more than their ${specs.length} tensors`);
    model.setWeights(tensors);
  } finally {
    tf.dispose(tensors);
  }
}
