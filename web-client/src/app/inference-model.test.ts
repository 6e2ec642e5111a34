import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { type Preprocessing, channelsOf } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoadedModel, classifyPixels, loadPublishedModel } from './inference-model';
import type { ModelPayload } from './inference-protocol';

/** A greyscale model (one input channel, as the reference CNN) and an RGB one (three, as MobileNet). */
const PREPROCESSINGS: Preprocessing[] = [
  { height: 8, width: 8, color: 'grayscale', scale: 1, offset: 0 },
  { height: 8, width: 8, color: 'rgb', scale: 1, offset: 0 },
];
const CLASSES = 3;
const EMBEDDING = 6;

/** A small model as the hub publishes one (model.json topology + weights), with a named embedding layer. */
async function publishedPayload(preprocessing: Preprocessing): Promise<ModelPayload> {
  const input = tfl.input({ shape: [preprocessing.height, preprocessing.width, channelsOf(preprocessing.color)] }); // [batch, 8, 8, channels]
  const features = tfl.layers.conv2d({ filters: 2, kernelSize: 3, activation: 'relu' }).apply(input) as tfl.SymbolicTensor; // [batch, 6, 6, 2]
  const flat = tfl.layers.flatten().apply(features) as tfl.SymbolicTensor; // [batch, 72]
  const embedding = tfl.layers.dense({ units: EMBEDDING, activation: 'relu', name: 'embedding' }).apply(flat) as tfl.SymbolicTensor; // [batch, 6]
  const probabilities = tfl.layers.dense({ units: CLASSES, activation: 'softmax' }).apply(embedding) as tfl.SymbolicTensor; // [batch, 3]
  const model = tfl.model({ inputs: input, outputs: probabilities });
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (saved) => {
      artifacts = saved;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  model.dispose();
  const weightData = artifacts!.weightData!;
  return {
    modelJson: { modelTopology: artifacts!.modelTopology as object, weightsManifest: [{ paths: ['weights.bin'], weights: artifacts!.weightSpecs! }] },
    weights: Array.isArray(weightData) ? tf.io.concatenateArrayBuffers(weightData) : weightData,
    embeddingLayer: 'embedding',
    preprocessing,
  };
}

describe.each(PREPROCESSINGS)('the inference worker classifying a $color model on the cpu backend', (preprocessing) => {
  let loaded: LoadedModel;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    await tf.ready();
    const payload = await publishedPayload(preprocessing);
    loaded = { payload, model: await loadPublishedModel(payload), backend: 'cpu' };
  });

  afterAll(() => loaded.model.dispose());

  it('gives probabilities and the embedding for an image', async () => {
    const rgba = new Uint8ClampedArray(preprocessing.height * preprocessing.width * 4).map((_, i) => (i * 37) % 256);
    const result = await classifyPixels(loaded, rgba);
    expect(result.probabilities).toHaveLength(CLASSES);
    expect(result.probabilities.reduce((sum, p) => sum + p, 0)).toBeCloseTo(1, 5);
    expect(result.embedding).toHaveLength(EMBEDDING);
    expect(result.backend).toBe('cpu');
  });

  it('does not leak tensors', async () => {
    const rgba = new Uint8ClampedArray(preprocessing.height * preprocessing.width * 4);
    await classifyPixels(loaded, rgba); // a first call may set up what every later call reuses
    const before = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) {
      rgba.fill(i * 25);
      await classifyPixels(loaded, rgba);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
