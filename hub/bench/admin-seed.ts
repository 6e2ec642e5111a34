/**
 * What the admin benchmark stands on: a project as a busy team's would look, written through the hub's own services
 * and repositories (no hand-written SQL), nothing trained but the few models that get published:
 *   - items: Fashion-MNIST imported as `edgeloop import idx` does, committed as 2 versions (train split, then test);
 *   - runs: `runs` rows as the training job leaves them (queued -> running -> epochs, log lines -> succeeded with a
 *     lineage and a real evaluation), one in 20 failed;
 *   - models: a few tiny reference CNNs trained briefly and published, moved between channels (promote, rollback);
 *   - feedback: predictions from `devices` devices (each with its own device token) through feedback sync, 1 in 25 of
 *     them labelled by a person, and images shared for review (the labeling inbox);
 *   - pipelines: pipeline runs started and cancelled, as a person would from the admin.
 */
import crypto from 'node:crypto';
import type { Evaluations, Lineage, PredictionEvent } from '@edgeloop/shared';
import { validateModelConfig, validateTrainConfig } from '@edgeloop/training';
import { createToken } from '../src/auth/token.service';
import { type IdxPair, importIdx } from '../src/datasets/import-idx';
import { commitVersion } from '../src/datasets/version.service';
import * as items from '../src/datasets/item.repository';
import type { Caller, HubDeps } from '../src/deps';
import { FASHION_MNIST_LABELS } from '../src/demo';
import { syncCorrections, syncPredictions } from '../src/feedback/feedback.service';
import { receiveReviewedImage } from '../src/feedback/review-item.service';
import { cancelPipelineRun, startPipelineRun } from '../src/pipelines/pipeline.service';
import { createProject } from '../src/projects/project.service';
import { promote, rollback } from '../src/registry/channel.service';
import { publishRun } from '../src/registry/publish.service';
import * as runs from '../src/training/run.repository';
import { storeTinyRun } from '../test/tiny-model-version';

export interface SeedPlan {
  slug: string;
  /** The dataset's IDX pairs: the first (train) committed as version 1, the rest added and committed as version 2. */
  pairs: IdxPair[];
  runs: number;
  modelVersions: number;
  predictions: number;
  devices: number;
  reviewItems: number;
  pipelineRuns: number;
}

export interface Seeded {
  slug: string;
  model: string;
  /** A run a person would open (the newest succeeded one). */
  openRunId: string;
  /** The newest dataset version, and a label to filter its grid by. */
  versionId: string;
  label: string;
  /** Seconds per part, to report how long seeding takes. */
  seconds: Record<string, number>;
  counts: Record<string, number>;
}

const MODEL = 'fashion-cnn';
const EMBEDDING = 32; // the tiny CNN's embedding layer (denseUnits)
const SEEDER: Caller = { tokenId: null, name: 'bench', role: 'admin', projects: null };

/** A small deterministic generator: the same plan seeds the same rows. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

async function timed<T>(seconds: Record<string, number>, part: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  seconds[part] = (performance.now() - started) / 1000;
  console.log(`  ${part}: ${seconds[part]!.toFixed(1)} s`);
  return result;
}

function lineageOf(datasetVersionId: string, seed: number, seconds: number): Lineage {
  return {
    gitCommit: null,
    codeVersion: '0.0.0-bench',
    tfjsVersion: '4.22.0',
    node: process.version,
    worker: 'bench-worker',
    host: 'bench',
    platform: 'linux-x64',
    cpu: 'bench cpu',
    memoryGiB: 16,
    datasetVersionId,
    seed,
    backend: 'tensorflow',
    backendDetail: '@tensorflow/tfjs-node',
    replicas: 1,
    seconds,
    requestedBy: 'bench',
    attempt: 1,
    initFromRun: null,
  };
}

/**
 * `count` runs through the run repository's state changes, as the training worker makes them: 5-20 epochs each with
 * their metrics, a few log lines, a lineage and (for succeeded ones) the published model's real evaluation.
 */
async function seedRuns(deps: HubDeps, projectId: string, datasetVersionIds: string[], evaluation: Evaluations, count: number): Promise<string> {
  const next = random(7);
  let last = '';
  const models = [
    validateModelConfig({ architecture: 'reference-cnn', numClasses: 10 }),
    validateModelConfig({ architecture: 'reference-cnn', numClasses: 10, filters: [16, 32], denseUnits: 64 }),
    validateModelConfig({ architecture: 'mobilenet', numClasses: 10, alpha: 0.5, inputShape: [96, 96, 3] }),
  ];
  for (let i = 0; i < count; i++) {
    const datasetVersionId = datasetVersionIds[i % datasetVersionIds.length]!;
    const seed = i + 1;
    const trainConfig = validateTrainConfig({ epochs: 5 + (i % 16), seed, learningRate: [0.001, 0.003, 0.01][i % 3] });
    const run = await runs.createQueued(deps.db, { projectId, datasetVersionId, sweepId: null, modelConfig: models[i % models.length]!, trainConfig, createdBy: 'bench' });
    await runs.markRunning(deps.db, run.id, { previousAttempts: 0, worker: 'bench-worker', at: new Date() });
    let accuracy = 0.55;
    for (let epoch = 1; epoch <= trainConfig.epochs; epoch++) {
      accuracy = Math.min(0.93, accuracy + (0.93 - accuracy) * (0.25 + next() * 0.2));
      await runs.recordEpoch(deps.db, run.id, {
        epoch,
        loss: 1.6 * (1 - accuracy) + next() * 0.05,
        accuracy: accuracy + 0.01,
        valLoss: 1.7 * (1 - accuracy) + next() * 0.05,
        valAccuracy: accuracy,
        seconds: 3 + next() * 2,
        imagesPerSecond: 4000 + next() * 1000,
      });
    }
    for (let l = 0; l < 5; l++) await runs.appendLog(deps.db, run.id, `epoch ${l + 1}: val accuracy ${(accuracy * 100).toFixed(1)}%`);
    if (i % 20 === 19) await runs.markFailed(deps.db, run.id, 1, { error: 'worker ran out of memory', at: new Date() });
    else {
      await runs.markSucceeded(deps.db, run.id, 1, { lineage: lineageOf(datasetVersionId, seed, 40 + next() * 100), evaluation, artifactPrefix: `runs/${run.id}/`, at: new Date() });
      last = run.id;
    }
  }
  return last;
}

/** Predictions from `devices` devices, each through its own device token, 500 a batch, spread over the last 7 days. */
async function seedPredictions(deps: HubDeps, slug: string, plan: SeedPlan, versions: number): Promise<{ ids: string[]; topOf: string[] }> {
  const next = random(11);
  const callers: Caller[] = [];
  for (let d = 0; d < plan.devices; d++) {
    const { token } = await createToken(deps, { name: `phone-${d}`, role: 'device', createdBy: 'bench', projects: [slug] });
    callers.push({ tokenId: token.id, name: token.name, role: 'device', projects: [slug] });
  }
  const ids: string[] = [];
  const topOf: string[] = [];
  const now = Date.now();
  const perDevice = Math.ceil(plan.predictions / plan.devices);
  for (let d = 0; d < plan.devices; d++) {
    const events: PredictionEvent[] = [];
    for (let k = 0; k < perDevice && ids.length < plan.predictions; k++) {
      const first = Math.floor(next() * FASHION_MNIST_LABELS.length);
      const p = 0.4 + next() * 0.59;
      const top = [0, 1, 2, 3, 4].map((j) => ({ label: FASHION_MNIST_LABELS[(first + j) % FASHION_MNIST_LABELS.length]!, probability: j === 0 ? p : (1 - p) / 2 ** j }));
      const id = crypto.randomUUID();
      ids.push(id);
      topOf.push(top[0]!.label);
      events.push({
        id,
        model: MODEL,
        // Most devices on the newest version, some still on older ones.
        version: Math.max(1, versions - (d % 10 === 0 ? 1 : 0)),
        backend: (['webgpu', 'webgl', 'wasm'] as const)[d % 3]!,
        latencyMs: 2 + next() * 30,
        top,
        embedding: Array.from({ length: EMBEDDING }, () => Math.fround(next() * 2 - 1)),
        source: next() < 0.7 ? 'camera' : 'file',
        createdAt: new Date(now - (7 * 24 * 3_600_000 * (perDevice - k)) / perDevice).toISOString(),
        deviceId: `device-${d}`,
        appVersion: '1.4.0',
        channel: 'production',
      } as PredictionEvent);
    }
    for (let from = 0; from < events.length; from += 500) {
      const result = await syncPredictions(deps, callers[d]!, { project: slug, predictions: events.slice(from, from + 500) });
      if (result.rejected.length) throw new Error(`seeding predictions: ${result.rejected[0]!.reason}`);
    }
  }
  return { ids, topOf };
}

/** Seeds one project by `plan` (see the file's comment); logs each part's seconds. */
export async function seedProject(deps: HubDeps, plan: SeedPlan): Promise<Seeded> {
  const seconds: Record<string, number> = {};
  const next = random(3);
  console.log(`seeding ${plan.slug}`);
  const project = await createProject(deps, { slug: plan.slug, labels: FASHION_MNIST_LABELS, createdBy: 'bench' });
  let itemCount = 0;
  const versionIds = await timed(seconds, 'items (import + 2 commits)', async () => {
    await importIdx(deps, project, plan.pairs.slice(0, 1));
    const first = await commitVersion(deps, { project: plan.slug, message: 'train split', createdBy: 'bench' });
    await importIdx(deps, project, plan.pairs.slice(1));
    const second = await commitVersion(deps, { project: plan.slug, message: 'test split added', createdBy: 'bench' });
    itemCount = second.version.itemCount;
    return [first.version.id, second.version.id];
  });

  const published = await timed(seconds, `model versions (${plan.modelVersions} tiny CNNs trained and published)`, async () => {
    const out: { runId: string; evaluation: Evaluations }[] = [];
    for (let v = 0; v < plan.modelVersions; v++) {
      const stored = await storeTinyRun({ deps }, { projectId: project.id, datasetVersionId: versionIds[1]!, counts: { train: 300, val: 0, test: 200 }, epochs: 1, seed: v + 1 });
      await publishRun(deps, SEEDER, { runId: stored.runId, model: MODEL, maxQuantizationDrop: 100 });
      out.push(stored);
    }
    // Channel history: each version promoted in turn, one rollback and a re-promotion; staging on the newest.
    const ref = { project: plan.slug, model: MODEL };
    for (let v = 1; v <= plan.modelVersions; v++) await promote(deps, SEEDER, { ...ref, channel: 'production', version: v, reason: `v${v} passed the gate` });
    if (plan.modelVersions > 1) {
      await rollback(deps, SEEDER, { ...ref, channel: 'production', reason: 'accuracy dropped on phones' });
      await promote(deps, SEEDER, { ...ref, channel: 'production', version: plan.modelVersions, reason: 'fixed preprocessing' });
    }
    await promote(deps, SEEDER, { ...ref, channel: 'staging', version: plan.modelVersions, reason: 'staging follows the newest' });
    return out;
  });

  const openRunId = await timed(seconds, `runs (${plan.runs} with epochs, logs, evaluations)`, () =>
    seedRuns(deps, project.id, versionIds, published[published.length - 1]!.evaluation, plan.runs),
  );

  const { ids, topOf } = await timed(seconds, `predictions (${plan.predictions} from ${plan.devices} devices)`, () => seedPredictions(deps, plan.slug, plan, plan.modelVersions));

  const corrected = await timed(seconds, 'corrections (1 in 25 predictions)', async () => {
    const labeler: Caller = { tokenId: null, name: 'labeler-1', role: 'labeler', projects: [plan.slug] };
    let stored = 0;
    const picked = ids.filter((_, i) => i % 25 === 0);
    for (let from = 0; from < picked.length; from += 500) {
      const corrections = picked.slice(from, from + 500).map((predictionId, k) => ({
        id: crypto.randomUUID(),
        predictionId,
        // Mostly confirmations, some corrections to the next label.
        label: next() < 0.8 ? topOf[(from + k) * 25]! : FASHION_MNIST_LABELS[(FASHION_MNIST_LABELS.indexOf(topOf[(from + k) * 25]!) + 1) % 10]!,
        createdAt: new Date().toISOString(),
      }));
      stored += (await syncCorrections(deps, labeler, { project: plan.slug, corrections })).inserted;
    }
    return stored;
  });

  const inbox = await timed(seconds, `labeling inbox (${plan.reviewItems} shared images)`, async () => {
    // Images shared with their label by labelers: blobs the store has (the dataset's), each for a prediction.
    const shas = (await items.page(deps.db, { projectId: project.id }, undefined, plan.reviewItems)).items.map((item) => item.sha256);
    for (let i = 0; i < shas.length; i++) {
      const labeler: Caller = { tokenId: null, name: `labeler-${i % 3}`, role: 'labeler', projects: [plan.slug] };
      await receiveReviewedImage(deps, labeler, { project, sha256: shas[i]!, predictionId: ids[i * 7]!, source: 'review', label: topOf[i * 7]! });
    }
    return shas.length;
  });

  await timed(seconds, `pipeline runs (${plan.pipelineRuns}, started and cancelled)`, async () => {
    for (let i = 0; i < plan.pipelineRuns; i++) {
      const started = await startPipelineRun(deps, SEEDER, { project: plan.slug, model: MODEL, trigger: 'manual', triggerDetail: `bench ${i}` });
      await cancelPipelineRun(deps, SEEDER, started.id);
    }
  });

  return {
    slug: plan.slug,
    model: MODEL,
    openRunId,
    versionId: versionIds[1]!,
    label: FASHION_MNIST_LABELS[9]!,
    seconds,
    counts: { items: itemCount, runs: plan.runs, predictions: ids.length, corrections: corrected, inbox },
  };
}
