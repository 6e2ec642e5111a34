import crypto from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { type Evaluations, type ModelConfig, type Split, pixelsToModelInput } from '@edgeloop/shared';
import { buildModel, captureArtifacts, encodeArtifacts, evaluatePredictions, loadArtifacts, modelJsonFor, selectBackend, validateModelConfig, validateTrainConfig } from '@edgeloop/training';
import { FASHION_LABELS, FASHION_PREPROCESSING, loadFashionMnist } from '@edgeloop/training/test-support';
import { runs } from '../src/db/schema';
import type { HubDeps } from '../src/deps';
import { findProject } from '../src/projects/project.service';
import { publishRun } from '../src/registry/publish.service';
import { runArtifactPrefix } from '../src/training/training.job';
import { smallFashionVersion } from './small-dataset-version';

export interface TinyVersionOptions {
  project: string;
  model: string;
  /** Items of each split taken from the shipped Fashion-MNIST sample (val from its train file's end, test from t10k). */
  counts: Record<Split, number>;
  /** A model other than the small reference CNN (it must take [b, 28, 28, 1] and give [b, 10]). */
  build?: () => tf.LayersModel;
  /** The reference CNN's config (default TINY_MODEL_CONFIG), and training epochs on the train items (default 3). */
  config?: ModelConfig;
  epochs?: number;
  /** An MNIST-style directory to take the images from (default: the shipped sample). */
  dir?: string;
  seed?: number;
}

/** A small reference CNN: the architecture every published model has, a few thousand weights (embedding 32 > PCA rank 16). */
export const TINY_MODEL_CONFIG = validateModelConfig({ architecture: 'reference-cnn', numClasses: 10, filters: [4, 8], denseUnits: 32, dropout: 0 });

/**
 * A real published model version, fast: a project with a small Fashion-MNIST dataset version, a run row holding a
 * briefly trained tiny model's three encodings and their test evaluations (as the training job stores them), then
 * publishRun itself (files, signed manifest, version row, the profile job sent). No training queue involved.
 */
export async function publishTinyVersion(hub: { deps: HubDeps }, options: TinyVersionOptions) {
  await selectBackend('auto');
  const datasetVersionId = await smallFashionVersion(hub.deps, options.project, options.counts, { dir: options.dir, message: 'tiny' });
  const project = (await findProject(hub.deps, options.project))!;

  const { runId, evaluation } = await storeTinyRun(hub, { ...options, projectId: project.id, datasetVersionId });
  const published = await publishRun(hub.deps, { tokenId: null, name: 'test', role: 'ci', projects: null }, { runId, model: options.model, maxQuantizationDrop: 100 });
  return { published, evaluation, datasetVersionId, runId };
}

/**
 * A succeeded run row (not published) of a tiny model trained briefly in-process on the first `counts.train` items of
 * the sample, stored as the training job stores a run: each encoding's files under its prefix and its test evaluation
 * on the first `counts.test` test items. The project and dataset version must exist.
 */
export async function storeTinyRun(
  hub: { deps: HubDeps },
  options: Omit<TinyVersionOptions, 'project' | 'model'> & { projectId: string; datasetVersionId: string },
): Promise<{ runId: string; evaluation: Evaluations }> {
  await selectBackend('auto');
  const seed = options.seed ?? 3;
  const sample = loadFashionMnist(options.dir, { valCount: options.counts.val });
  const config = options.config ?? TINY_MODEL_CONFIG;
  const model = options.build?.() ?? buildModel(config, seed);
  const input = (set: typeof sample.train, count: number) => {
    const values = new Float32Array(count * 784);
    for (let i = 0; i < count; i++) pixelsToModelInput(set.pixels.subarray(i * 784, (i + 1) * 784), 1, FASHION_PREPROCESSING, values.subarray(i * 784, (i + 1) * 784));
    return tf.tensor4d(values, [count, 28, 28, 1]);
  };
  const trainX = input(sample.train, options.counts.train);
  const trainY = tf.oneHot(tf.tensor1d(Array.from(sample.train.labels.subarray(0, options.counts.train)), 'int32'), 10);
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
  await model.fit(trainX, trainY, { epochs: options.epochs ?? 3, batchSize: 32, verbose: 0 });
  tf.dispose([trainX, trainY]);

  // As the training job stores a run: each encoding's files under the run's prefix and its test evaluation.
  const float32 = await captureArtifacts(model);
  model.dispose();
  const testX = input(sample.test, options.counts.test);
  const testLabels = Array.from(sample.test.labels.subarray(0, options.counts.test));
  const evaluation: Evaluations = {};
  const runId = crypto.randomUUID();
  const prefix = runArtifactPrefix(runId);
  for (const format of ['float32', 'float16', 'uint8'] as const) {
    const artifacts = encodeArtifacts(float32, format);
    const loaded = await loadArtifacts(artifacts);
    const probabilities = tf.tidy(() => (loaded.predict(testX) as tf.Tensor).dataSync() as Float32Array);
    loaded.dispose();
    evaluation[format] = evaluatePredictions(probabilities, testLabels, FASHION_LABELS);
    await hub.deps.store.put(`${prefix}${format}/weights.bin`, artifacts.weightData, { contentType: 'application/octet-stream' });
    await hub.deps.store.put(`${prefix}${format}/model.json`, new TextEncoder().encode(JSON.stringify(modelJsonFor(artifacts, ['weights.bin']))), { contentType: 'application/json' });
  }
  testX.dispose();
  await hub.deps.db.insert(runs).values({
    id: runId,
    projectId: options.projectId,
    datasetVersionId: options.datasetVersionId,
    status: 'succeeded',
    modelConfig: config,
    trainConfig: validateTrainConfig({ seed }),
    evaluation,
    artifactPrefix: prefix,
    createdBy: 'test',
  });
  return { runId, evaluation };
}
