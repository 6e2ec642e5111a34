/**
 * What a reference profile needs from a loaded model: its classifier head (the last dense layer's kernel and bias,
 * which the hub uses to recover full logits from the embeddings devices send) and the embeddings and probabilities
 * of held-out images, computed in batches at the embedding layer, exactly as on a device.
 */
import * as tf from '@tensorflow/tfjs';
import { type Preprocessing, channelsOf, pixelsToModelInput } from '@edgeloop/shared';
import { EMBEDDING_LAYER, type ImageSet } from '@edgeloop/training';

/** Images per forward pass: large enough to keep the backend busy, small enough to bound memory. */
const BATCH = 256;

/** Why a version's profile cannot be computed (its model, its data), said to the engineer as is. */
export class ProfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProfileError';
  }
}

export interface ClassifierHead {
  embeddingLayer: tf.layers.Layer;
  /** d = embedding size, K = classes. */
  embeddingSize: number;
  classes: number;
  /** [d, K] row-major, as tfjs stores a Dense kernel: logits = e · kernel + bias. */
  kernel: Float32Array;
  /** [K] */
  bias: Float32Array;
}

const describe = (layer: tf.layers.Layer) => `${layer.name} (${layer.getClassName()}${activationOf(layer) ? `, ${activationOf(layer)}` : ''})`;
const activationOf = (layer: tf.layers.Layer): string | undefined => (layer.getConfig() as { activation?: string }).activation;
const inputLayerOf = (layer: tf.layers.Layer): tf.layers.Layer | undefined => {
  const inbound = layer.inboundNodes;
  return inbound.length === 1 && inbound[0]!.inboundLayers.length === 1 ? inbound[0]!.inboundLayers[0] : undefined;
};

/**
 * The model's head, checked to be `embedding -> dense (linear) -> softmax` (or `embedding -> dense (softmax)`): only
 * then are a device's logits `e · kernel + bias` of the embedding it sends. Anything else fails with what it found.
 */
export function classifierHead(model: tf.LayersModel): ClassifierHead {
  const expected = `${EMBEDDING_LAYER} -> dense -> softmax`;
  const last = model.layers[model.layers.length - 1]!;
  let dense: tf.layers.Layer | undefined;
  if (last.getClassName() === 'Softmax' || (last.getClassName() === 'Activation' && activationOf(last) === 'softmax')) {
    dense = inputLayerOf(last);
    if (!dense || dense.getClassName() !== 'Dense' || activationOf(dense) !== 'linear') {
      throw new ProfileError(`the model does not end ${expected}: its softmax ${describe(last)} follows ${dense ? describe(dense) : 'more than one layer'}, not a linear dense layer, so logits cannot be recovered from embeddings`);
    }
  } else if (last.getClassName() === 'Dense' && activationOf(last) === 'softmax') {
    dense = last;
  } else {
    throw new ProfileError(`the model does not end ${expected}: its last layer is ${describe(last)}, so logits cannot be recovered from embeddings`);
  }
  let embeddingLayer: tf.layers.Layer;
  try {
    embeddingLayer = model.getLayer(EMBEDDING_LAYER);
  } catch {
    throw new ProfileError(`the model has no layer named "${EMBEDDING_LAYER}" (it must end ${expected})`);
  }
  const before = inputLayerOf(dense);
  if (before !== embeddingLayer) {
    throw new ProfileError(`the model does not end ${expected}: its dense head ${describe(dense)} reads ${before ? describe(before) : 'more than one layer'}, not the "${EMBEDDING_LAYER}" layer`);
  }
  const [kernel, bias] = dense.getWeights();
  if (!kernel || !bias || kernel.rank !== 2) throw new ProfileError(`the dense head ${describe(dense)} has no kernel and bias`);
  const [embeddingSize, classes] = kernel.shape as [number, number];
  return { embeddingLayer, embeddingSize, classes, kernel: kernel.dataSync() as Float32Array, bias: bias.dataSync() as Float32Array };
}

export interface Embedded {
  /** [n, d] row-major. */
  embeddings: Float32Array;
  /** The model's own output, [n, K] row-major. */
  probabilities: Float32Array;
}

/**
 * Embeddings and probabilities of every image of `set`, `BATCH` at a time through one two-output model that shares
 * the loaded model's weights (so nothing of it needs disposing here). Each batch's tensors are freed before the next;
 * the event loop gets a turn between batches.
 */
export async function embedImages(model: tf.LayersModel, head: ClassifierHead, set: ImageSet, p: Preprocessing): Promise<Embedded> {
  const twoOutputs = tf.model({ inputs: model.inputs, outputs: [head.embeddingLayer.output as tf.SymbolicTensor, model.outputs[0]!] });
  const channels = channelsOf(p.color);
  const pixelsPerImage = p.height * p.width * set.channels;
  const valuesPerImage = p.height * p.width * channels;
  const embeddings = new Float32Array(set.count * head.embeddingSize);
  const probabilities = new Float32Array(set.count * head.classes);
  const input = new Float32Array(Math.min(BATCH, set.count) * valuesPerImage);
  for (let start = 0; start < set.count; start += BATCH) {
    const n = Math.min(BATCH, set.count - start);
    for (let i = 0; i < n; i++) {
      const at = (start + i) * pixelsPerImage;
      pixelsToModelInput(set.pixels.subarray(at, at + pixelsPerImage), set.channels, p, input.subarray(i * valuesPerImage, (i + 1) * valuesPerImage));
    }
    const [e, y] = tf.tidy(() => {
      const x = tf.tensor4d(input.subarray(0, n * valuesPerImage), [n, p.height, p.width, channels]); // [n, h, w, c]
      const [embedding, output] = twoOutputs.predict(x) as tf.Tensor[]; // [n, d], [n, K]
      return [embedding!.reshape([n, head.embeddingSize]), output!];
    });
    try {
      embeddings.set(await e!.data(), start * head.embeddingSize);
      probabilities.set(await y!.data(), start * head.classes);
    } finally {
      tf.dispose([e!, y!]);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { embeddings, probabilities };
}

/**
 * Largest |softmax(e · kernel + bias) - model output| over the images: ~1e-6 when the head recovers the model's own
 * probabilities (what the monitor relies on), large when the model has something between embedding and output.
 */
export function headReproduction(head: ClassifierHead, embedded: Embedded): number {
  const { embeddingSize: d, classes: k, kernel, bias } = head;
  const n = embedded.embeddings.length / d;
  const logits = new Float64Array(k);
  let worst = 0;
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let c = 0; c < k; c++) {
      let z = bias[c]!;
      for (let j = 0; j < d; j++) z += embedded.embeddings[i * d + j]! * kernel[j * k + c]!;
      logits[c] = z;
      if (z > max) max = z;
    }
    let sum = 0;
    for (let c = 0; c < k; c++) sum += (logits[c] = Math.exp(logits[c]! - max));
    for (let c = 0; c < k; c++) worst = Math.max(worst, Math.abs(logits[c]! / sum - embedded.probabilities[i * k + c]!));
  }
  return worst;
}
