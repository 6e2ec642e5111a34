/**
 * One data-parallel training replica, run in a worker thread. Every replica holds the same model; each step it
 * computes gradients on its share of the batch, all replicas exchange them through shared memory, and each
 * applies the same summed gradient, so the replicas stay identical without sending weights around.
 */
import { once } from 'node:events';
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { MODEL_FORMATS, channelsOf, mulberry32, pixelsToModelInput, seededPermutation, type Evaluation, type ModelFormat } from '@edgeloop/shared';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { selectBackend } from '../backends/select-backend';
import { evaluatePredictions } from '../evaluate/metrics';
import { captureArtifacts, encodeArtifacts, loadArtifacts, type ModelArtifacts } from '../export/model-artifacts';
import { buildModel, logitsModel } from '../models/build-model';
import { priorCorrectionOffsets, shiftLogitsBias } from '../models/prior-correction';
import { setInitialWeights } from '../models/initial-weights';
import { trainingLogits } from '../models/training-logits';
import { awaitBarrier, STOP_DECIDED, STOP_REQUESTED } from './barrier';
import { gradientRegion, replicaStats, STAT, STATS_PER_REPLICA } from './exchange-buffer';
import type { EpochMetrics, ExchangeMessage, ReplicaInit, ReplicaMessage } from './messages';
import { learningRateAt } from './train-config';
import type { ImageSet } from './training-data';

/**
 * Images per forward pass when evaluating and predicting. Forward passes keep no activations for gradients, so they
 * take larger batches than training does (fewer kernel calls per image) while the input stays a few MB:
 * 512 x 28x28x1 float32 is 1.6 MB, 512 x 96x96x3 (the default MobileNet input) 57 MB.
 */
const EVAL_BATCH_SIZE = 512;

/** How often replica 0 reports progress to the coordinator: often enough for a live view, rarely enough not to flood it. */
const PROGRESS_INTERVAL_MS = 500;

/** With horizontal-flip augmentation, each training image is mirrored with this probability (a seeded half). */
const FLIP_PROBABILITY = 0.5;

/*
 * Seeds derived from the run's seed: each combines it with counters (epoch, step, replica, layer) as
 * `outer * MULTIPLIER + inner`. Where the multiplier exceeds the largest inner value, different combinations get
 * different seeds: train-config allows at most 500 epochs and 64 replicas, and a model has far fewer than 1009 layers.
 * (Steps are not bounded that way: runs whose seeds differ by one can share dropout masks 7919 steps apart.)
 * The multipliers are primes (7919 is the 1000th, 104729 the 10,000th), the usual choice for mixing counters. Their
 * values are part of what makes a run reproducible: changing one changes every model trained afterwards from a seed.
 */
/** Shuffling order of an epoch: run seed * this + epoch. */
const SHUFFLE_SEED_MULTIPLIER = 7919;
/** Which images a replica mirrors in an epoch: run seed * this + epoch * FLIP_EPOCH_MULTIPLIER + replica. */
const FLIP_SEED_MULTIPLIER = 104_729; // > 500 epochs * FLIP_EPOCH_MULTIPLIER
const FLIP_EPOCH_MULTIPLIER = 131; // > 64 replicas
/** Dropout masks of a step: (run seed * STEP_SEED_MULTIPLIER + step) * DROPOUT_REPLICA_MULTIPLIER + replica. */
const STEP_SEED_MULTIPLIER = 7919;
const DROPOUT_REPLICA_MULTIPLIER = 64; // the most replicas train-config allows
// ... and per layer: step seed * DROPOUT_LAYER_MULTIPLIER (1009, in training-logits.ts) + layer index.

const port = parentPort!;
const init = workerData as ReplicaInit;
const { index, count: replicas, config, data } = init;
const control = new Int32Array(init.control);
const post = (message: ReplicaMessage) => port.postMessage(message);

const backend = await selectBackend(init.backend);
const model = buildModel(init.model, config.seed);
if (init.initialWeights) setInitialWeights(model, init.initialWeights);
const logits = logitsModel(model);
const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
const sizes = variables.map((v) => v.size);
const paramCount = sizes.reduce((a, b) => a + b, 0);
const optimizer = tf.train.adam(config.learningRate);
/** Adam reads its learning rate on every update; the schedule sets it before each step. */
const setLearningRate = (lr: number) => ((optimizer as unknown as { learningRate: number }).learningRate = lr);
const [height, width] = init.model.inputShape;
const inputSize = height * width * channelsOf(data.preprocessing.color);
const classes = data.labels.length;

post({ type: 'ready', paramCount, backend });
const [exchange] = (await once(port, 'message')) as [ExchangeMessage];
const region = (step: number, replica: number) => gradientRegion(exchange.buffer, replicas, paramCount, step, replica);
const stats = replicaStats(exchange.buffer, replicas, paramCount);
const summed = new Float32Array(paramCount);

/**
 * Reused across steps: a fresh multi-megabyte array per step costs more in page faults (the kernel zeroing new
 * pages) than the copy itself.
 */
const batchValues = new Float32Array(Math.max(config.batchSize, EVAL_BATCH_SIZE) * inputSize);

/** Model input for the given image indices: [n, h, w, c] float32, through the shared preprocessing. */
function batchTensor(set: ImageSet, indices: ArrayLike<number>, flip?: () => boolean): { x: tf.Tensor4D; y: tf.Tensor2D; labels: Int32Array } {
  const values = batchValues.subarray(0, indices.length * inputSize);
  const labels = new Int32Array(indices.length);
  const sourceSize = height * width * set.channels;
  for (let i = 0; i < indices.length; i++) {
    const item = indices[i]!;
    const image = values.subarray(i * inputSize, (i + 1) * inputSize);
    pixelsToModelInput(set.pixels.subarray(item * sourceSize, (item + 1) * sourceSize), set.channels, data.preprocessing, image);
    if (flip?.()) mirrorRows(image, width, inputSize / (height * width));
    labels[i] = set.labels[item]!;
  }
  const x = tf.tensor4d(values, [indices.length, height, width, inputSize / (height * width)]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), classes).toFloat() as tf.Tensor2D);
  return { x, y, labels };
}

/** Mirrors an image [h, w, c] left to right, in place. */
function mirrorRows(image: Float32Array, w: number, c: number): void {
  for (let row = 0; row < image.length; row += w * c) {
    for (let left = 0, right = w - 1; left < right; left++, right--) {
      for (let k = 0; k < c; k++) {
        const a = row + left * c + k;
        const b = row + right * c + k;
        const t = image[a]!;
        image[a] = image[b]!;
        image[b] = t;
      }
    }
  }
}

/** A gradient's values without copying them out of the backend where it allows (wasm: a view of its heap). */
function gradientValues(grad: tf.Tensor): Float32Array {
  return (backend.name === 'wasm' ? (tf.backend() as BackendWasm).typedArrayFromHeap(grad) : grad.dataSync()) as Float32Array;
}

function countCorrect(logitValues: Float32Array | Int32Array | Uint8Array, labels: Int32Array): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logitValues[i * classes + c]! > logitValues[i * classes + best]!) best = c;
    if (best === labels[i]) correct++;
  }
  return correct;
}

/** This replica's contiguous share of `indices`. */
function shareOf<T extends { subarray(a: number, b: number): T; length: number }>(indices: T): T {
  const per = Math.ceil(indices.length / replicas);
  return indices.subarray(Math.min(indices.length, index * per), Math.min(indices.length, (index + 1) * per));
}

/** Forward pass over this replica's share of a split: [loss sum, correct]. */
function evaluateShare(set: ImageSet): [number, number] {
  const share = shareOf(Uint32Array.from({ length: set.count }, (_, i) => i));
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < share.length; start += EVAL_BATCH_SIZE) {
    const { x, y, labels } = batchTensor(set, share.subarray(start, start + EVAL_BATCH_SIZE));
    const out = logits.predict(x) as tf.Tensor2D;
    const loss = tf.losses.softmaxCrossEntropy(y, out, undefined, undefined, tf.Reduction.SUM);
    lossSum += loss.dataSync()[0]!;
    correct += countCorrect(out.dataSync() as Float32Array, labels);
    tf.dispose([x, y, out, loss]);
  }
  return [lossSum, correct];
}

function trainEpoch(epoch: number, stepCounter: { step: number }): EpochMetrics | 'stopped' {
  const started = performance.now();
  const order = seededPermutation(data.train.count, config.seed * SHUFFLE_SEED_MULTIPLIER + epoch);
  const steps = Math.ceil(data.train.count / config.batchSize);
  // Seeded per epoch and replica: which images of my share are mirrored.
  const random = mulberry32(config.seed * FLIP_SEED_MULTIPLIER + epoch * FLIP_EPOCH_MULTIPLIER + index);
  const flip = config.augmentation === 'horizontal-flip' ? () => random() < FLIP_PROBABILITY : undefined;
  let lossSum = 0;
  let correct = 0;
  let lastProgress = started;
  for (let s = 0; s < steps; s++) {
    const batch = order.subarray(s * config.batchSize, (s + 1) * config.batchSize);
    const mine = shareOf(batch);
    const slot = region(stepCounter.step, index);
    if (mine.length > 0) {
      const { x, y, labels } = batchTensor(data.train, mine, flip);
      // Sum-reduced loss over my share / full batch size: the replicas' gradients add up to the batch mean's.
      const { value, grads } = tf.variableGrads(() => {
        const out = trainingLogits(logits, x, init.model.dropout, (config.seed * STEP_SEED_MULTIPLIER + stepCounter.step) * DROPOUT_REPLICA_MULTIPLIER + index);
        correct += countCorrect(out.dataSync() as Float32Array, labels);
        return tf.losses.softmaxCrossEntropy(y, out, undefined, undefined, tf.Reduction.SUM).div(batch.length) as tf.Scalar;
      }, variables);
      lossSum += value.dataSync()[0]! * batch.length;
      let at = 0;
      for (const v of variables) {
        slot.set(gradientValues(grads[v.name]!), at);
        at += v.size;
      }
      tf.dispose([x, y, value, ...Object.values(grads)]);
    } else slot.fill(0);

    if (index === 0) Atomics.store(control, STOP_DECIDED, Atomics.load(control, STOP_REQUESTED));
    awaitBarrier(control, replicas);
    if (Atomics.load(control, STOP_DECIDED)) return 'stopped';

    summed.set(region(stepCounter.step, 0));
    for (let r = 1; r < replicas; r++) {
      const other = region(stepCounter.step, r);
      for (let i = 0; i < paramCount; i++) summed[i]! += other[i]!;
    }
    setLearningRate(learningRateAt(config, stepCounter.step, config.epochs * steps));
    stepCounter.step++;
    tf.tidy(() => {
      let at = 0;
      const named = variables.map((v, i) => {
        const tensor = tf.tensor(summed.subarray(at, at + sizes[i]!), v.shape);
        at += sizes[i]!;
        return { name: v.name, tensor };
      });
      optimizer.applyGradients(named);
    });

    const now = performance.now();
    if (index === 0 && (now - lastProgress > PROGRESS_INTERVAL_MS || s === steps - 1)) {
      lastProgress = now;
      const seen = Math.min(data.train.count, (s + 1) * config.batchSize);
      post({
        type: 'progress',
        progress: { epoch, epochs: config.epochs, step: s + 1, steps, loss: (lossSum * replicas) / seen, imagesPerSecond: seen / ((now - started) / 1000) },
      });
    }
  }
  const trainSeconds = (performance.now() - started) / 1000;
  const [valLoss, valCorrect] = evaluateShare(data.val);
  const own = index * STATS_PER_REPLICA;
  stats[own + STAT.trainLossSum] = lossSum;
  stats[own + STAT.trainCorrect] = correct;
  stats[own + STAT.valLossSum] = valLoss;
  stats[own + STAT.valCorrect] = valCorrect;
  awaitBarrier(control, replicas);
  /** One statistic summed over all replicas. */
  const total = (stat: (typeof STAT)[keyof typeof STAT]) => Array.from({ length: replicas }, (_, r) => stats[r * STATS_PER_REPLICA + stat]!).reduce((a, b) => a + b, 0);
  return {
    epoch,
    loss: total(STAT.trainLossSum) / data.train.count,
    accuracy: total(STAT.trainCorrect) / data.train.count,
    valLoss: data.val.count ? total(STAT.valLossSum) / data.val.count : 0,
    valAccuracy: data.val.count ? total(STAT.valCorrect) / data.val.count : 0,
    seconds: (performance.now() - started) / 1000,
    imagesPerSecond: data.train.count / trainSeconds,
  };
}

/** Probabilities of a model over a whole split: [count, classes] row-major. */
function predictAll(m: tf.LayersModel, set: ImageSet): Float32Array {
  const out = new Float32Array(set.count * classes);
  for (let start = 0; start < set.count; start += EVAL_BATCH_SIZE) {
    const indices = Uint32Array.from({ length: Math.min(EVAL_BATCH_SIZE, set.count - start) }, (_, i) => start + i);
    const { x, y } = batchTensor(set, indices);
    const probabilities = m.predict(x) as tf.Tensor;
    out.set(probabilities.dataSync() as Float32Array, start * classes);
    tf.dispose([x, y, probabilities]);
  }
  return out;
}

async function exportAndEvaluate(): Promise<Extract<ReplicaMessage, { type: 'done' }>> {
  if (config.classPriors) {
    const offsets = priorCorrectionOffsets(config.classPriors, data.train.labels, data.train.count);
    shiftLogitsBias(model, offsets);
    post({ type: 'log', line: `class priors applied: logits bias shifted by ${Array.from(offsets, (o) => o.toFixed(2)).join(', ')}` });
  }
  const float32 = await captureArtifacts(model);
  const artifacts: Partial<Record<ModelFormat, ModelArtifacts>> = {};
  const evaluations: Partial<Record<ModelFormat, Evaluation>> = {};
  const actual = data.test.labels.subarray(0, data.test.count);
  for (const format of MODEL_FORMATS) {
    const encoded = encodeArtifacts(float32, format);
    const loaded = await loadArtifacts(encoded);
    evaluations[format] = evaluatePredictions(predictAll(loaded, data.test), actual, data.labels);
    loaded.dispose();
    artifacts[format] = encoded;
    post({ type: 'log', line: `test accuracy ${format}: ${(evaluations[format]!.accuracy * 100).toFixed(2)}% (${encoded.weightData.length} weight bytes)` });
  }
  return { type: 'done', cancelled: false, artifacts, evaluations };
}

const stepCounter = { step: 0 };
let stopped = false;
for (let epoch = 1; epoch <= config.epochs && !stopped; epoch++) {
  const metrics = trainEpoch(epoch, stepCounter);
  if (metrics === 'stopped') stopped = true;
  else if (index === 0) post({ type: 'epoch', metrics });
}
if (stopped || index !== 0) post({ type: 'done', cancelled: stopped });
else post(await exportAndEvaluate());
