/**
 * A verified model as the inference worker runs it: built from the published files, and classifying RGBA pixels
 * with the shared preprocessing. No worker state here: the worker picks the backend and keeps the loaded model, and
 * a test calls the same functions on the cpu backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { channelsOf, pixelsToModelInput } from '@edgeloop/shared';
import type { ClassifyResult, InferenceBackendName, ModelPayload } from './inference-protocol';

export interface LoadedModel {
  payload: ModelPayload;
  /** One call gives both outputs: [probabilities [1, classes], embedding [1, d]]. */
  model: tfl.LayersModel;
  backend: InferenceBackendName;
}

/** The published layers model, with the embedding layer's output added as a second output. */
export async function loadPublishedModel(payload: ModelPayload): Promise<tfl.LayersModel> {
  const base = await tfl.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: payload.modelJson.modelTopology,
      weightSpecs: payload.modelJson.weightsManifest.flatMap((group) => group.weights) as tf.io.WeightsManifestEntry[],
      weightData: payload.weights,
    }),
  );
  return tfl.model({ inputs: base.inputs, outputs: [base.outputs[0]!, base.getLayer(payload.embeddingLayer).output as tfl.SymbolicTensor] });
}

/** Classifies one image: RGBA pixels at the model's input size (height * width * 4 bytes). Leaves no tensor behind. */
export async function classifyPixels(loaded: LoadedModel, rgba: Uint8ClampedArray): Promise<ClassifyResult> {
  const { model, payload, backend } = loaded;
  const p = payload.preprocessing;
  const channels = channelsOf(p.color);
  const started = performance.now();
  const input = pixelsToModelInput(rgba, 4, p);
  const [probabilities, embedding] = tf.tidy(() => model.predict(tf.tensor4d(input, [1, p.height, p.width, channels])) as tf.Tensor[]); // [1, classes], [1, d]
  try {
    // data(), not dataSync(): WebGPU cannot read back synchronously.
    const [probs, emb] = await Promise.all([probabilities!.data(), embedding!.data()]);
    return { probabilities: Array.from(probs), embedding: Array.from(emb), backend, latencyMs: performance.now() - started };
  } finally {
    probabilities!.dispose();
    embedding!.dispose();
  }
}
