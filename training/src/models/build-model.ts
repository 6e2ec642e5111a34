/**
 * Builds tfjs layers models. Both architectures are chains of layers (no branches), which the training loop relies
 * on to insert its seeded dropout; the published graph has no dropout layer. Every model ends in a dense layer named `logits` followed by a softmax named
 * `probabilities`, and has a layer named `embedding` whose output is the compact image embedding used for drift.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '@edgeloop/shared';

export const EMBEDDING_LAYER = 'embedding';
export const LOGITS_LAYER = 'logits';

/** Seeded initialisers: the same seed gives the same starting weights on every backend and replica. */
function initializers(seed: number, layerIndex: number) {
  return { kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 1000 + layerIndex }), biasInitializer: 'zeros' as const };
}

export function buildModel(config: ModelConfig, seed: number): tf.LayersModel {
  return config.architecture === 'reference-cnn' ? buildReferenceCnn(config, seed) : buildMobilenet(config, seed);
}

/** conv-pool-conv-pool-dense-dense: ~225k parameters for 28x28x1 and 10 classes. */
function buildReferenceCnn(config: Extract<ModelConfig, { architecture: 'reference-cnn' }>, seed: number): tf.LayersModel {
  const input = tf.input({ shape: config.inputShape, name: 'image' }); // [b, 28, 28, 1]
  let x = tf.layers.conv2d({ filters: config.filters[0], kernelSize: 3, activation: 'relu', ...initializers(seed, 1) }).apply(input) as tf.SymbolicTensor; // [b, 26, 26, 32]
  x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor; // [b, 13, 13, 32]
  x = tf.layers.conv2d({ filters: config.filters[1], kernelSize: 3, activation: 'relu', ...initializers(seed, 2) }).apply(x) as tf.SymbolicTensor; // [b, 11, 11, 64]
  x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor; // [b, 5, 5, 64]
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor; // [b, 1600]
  x = tf.layers.dense({ units: config.denseUnits, activation: 'relu', name: EMBEDDING_LAYER, ...initializers(seed, 3) }).apply(x) as tf.SymbolicTensor; // [b, 128]
  return withClassifierHead(input, x, config.numClasses, seed, 4, 'reference-cnn');
}

/** MobileNet v1 (depthwise-separable convs, batch norm, relu6) with a width multiplier. */
function buildMobilenet(config: Extract<ModelConfig, { architecture: 'mobilenet' }>, seed: number): tf.LayersModel {
  // [filters, stride] of MobileNet v1's 13 depthwise-separable blocks.
  const BLOCKS: [number, number][] = [
    [64, 1], [128, 2], [128, 1], [256, 2], [256, 1], [512, 2], [512, 1], [512, 1], [512, 1], [512, 1], [512, 1], [1024, 2], [1024, 1],
  ];
  const width = (f: number) => Math.max(8, Math.round(f * config.alpha));
  let layerIndex = 1;
  const input = tf.input({ shape: config.inputShape, name: 'image' }); // [b, h, w, 3]
  let x = tf.layers.conv2d({ filters: width(32), kernelSize: 3, strides: 2, padding: 'same', useBias: false, ...initializers(seed, layerIndex++) }).apply(input) as tf.SymbolicTensor;
  x = batchNormRelu6(x);
  for (const [filters, strides] of BLOCKS.slice(0, config.blocks)) {
    x = tf.layers.depthwiseConv2d({ kernelSize: 3, strides, padding: 'same', useBias: false, depthwiseInitializer: tf.initializers.glorotUniform({ seed: seed * 1000 + layerIndex++ }) }).apply(x) as tf.SymbolicTensor;
    x = batchNormRelu6(x);
    x = tf.layers.conv2d({ filters: width(filters), kernelSize: 1, padding: 'same', useBias: false, ...initializers(seed, layerIndex++) }).apply(x) as tf.SymbolicTensor;
    x = batchNormRelu6(x);
  }
  x = tf.layers.globalAveragePooling2d({ name: EMBEDDING_LAYER }).apply(x) as tf.SymbolicTensor; // [b, channels]
  return withClassifierHead(input, x, config.numClasses, seed, layerIndex, 'mobilenet');
}

function batchNormRelu6(x: tf.SymbolicTensor): tf.SymbolicTensor {
  const normalized = tf.layers.batchNormalization({ momentum: 0.9 }).apply(x) as tf.SymbolicTensor;
  return tf.layers.reLU({ maxValue: 6 }).apply(normalized) as tf.SymbolicTensor;
}

function withClassifierHead(input: tf.SymbolicTensor, features: tf.SymbolicTensor, numClasses: number, seed: number, layerIndex: number, name: string) {
  const logits = tf.layers.dense({ units: numClasses, name: LOGITS_LAYER, ...initializers(seed, layerIndex) }).apply(features) as tf.SymbolicTensor; // [b, classes]
  const probabilities = tf.layers.softmax({ name: 'probabilities' }).apply(logits) as tf.SymbolicTensor; // [b, classes]
  return tf.model({ inputs: input, outputs: probabilities, name });
}

/** The same weights, stopping at the logits: what the loss is computed on (numerically stabler than softmax output). */
export function logitsModel(model: tf.LayersModel): tf.LayersModel {
  return tf.model({ inputs: model.inputs, outputs: model.getLayer(LOGITS_LAYER).output as tf.SymbolicTensor });
}
