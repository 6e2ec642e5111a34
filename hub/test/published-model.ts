/**
 * A tiny real model published and promoted without training: an untrained reference CNN (seeded) exported as a run's
 * float32 artifacts, then published (real shards, model.json and signed manifest) and promoted by the registry's own
 * procedures, so tests of what devices do with a channel's model run in seconds.
 */
import crypto from 'node:crypto';
import type { Evaluation } from '@edgeloop/shared';
import { buildModel, captureArtifacts, modelJsonFor, validateModelConfig, validateTrainConfig } from '@edgeloop/training';
import { datasetVersions, runs } from '../src/db/schema';
import { getProject } from '../src/projects/project.service';
import type { TestHub } from './test-hub';

export interface TinyModelOptions {
  project: string;
  model: string;
  channel?: string;
  seed?: number;
  /** [height, width]: the reference CNN's greyscale input. */
  size?: [number, number];
}

/** Publishes the next version of `model` from a fresh untrained network and promotes `channel` to it; returns the version. */
export async function publishTinyModel(hub: TestHub, options: TinyModelOptions): Promise<number> {
  const project = await getProject(hub.deps, options.project);
  const [height, width] = options.size ?? [16, 16];
  const modelConfig = validateModelConfig({ architecture: 'reference-cnn', inputShape: [height, width, 1], numClasses: project.labels.length, filters: [4, 4], denseUnits: 16 });
  const network = buildModel(modelConfig, options.seed ?? 1);
  const artifacts = await captureArtifacts(network);
  network.dispose();

  const prefix = `runs/tiny-${crypto.randomUUID()}/`;
  await hub.deps.store.put(`${prefix}float32/weights.bin`, artifacts.weightData, { contentType: 'application/octet-stream' });
  await hub.deps.store.put(`${prefix}float32/model.json`, new TextEncoder().encode(JSON.stringify(modelJsonFor(artifacts, ['weights.bin']))), { contentType: 'application/json' });
  const n = project.labels.length;
  // An evaluation of the right shape (publishing gates on it); its numbers are not measured.
  const evaluation: Evaluation = {
    count: n,
    accuracy: 1 / n,
    loss: Math.log(n),
    confusion: project.labels.map((_, i) => project.labels.map((__, j) => (i === j ? 1 : 0))),
    perClass: project.labels.map((label) => ({ label, precision: 1, recall: 1, support: 1 })),
    ece: 0,
    calibration: [],
  };
  const datasetVersionId = crypto.randomBytes(32).toString('hex');
  await hub.deps.db.insert(datasetVersions).values({ id: datasetVersionId, projectId: project.id, message: 'tiny', itemCount: 0, counts: {}, manifestBytes: 0, createdBy: 'test' });
  const [run] = await hub.deps.db
    .insert(runs)
    .values({ projectId: project.id, datasetVersionId, status: 'succeeded', modelConfig, trainConfig: validateTrainConfig({}), artifactPrefix: prefix, evaluation: { float32: evaluation }, createdBy: 'test' })
    .returning();
  const engineer = await hub.as('engineer');
  const published = await engineer.registry.publish({ runId: run!.id, model: options.model });
  await engineer.registry.promote({ project: options.project, model: options.model, channel: options.channel ?? 'production', version: published.version, reason: 'test model' });
  return published.version;
}
