/**
 * For tests and benchmarks of stream monitors without a trained model: shared's Gaussian embedding classes with their
 * Bayes head (logits = e·kernel + bias), a reference profile built from held-out draws by shared's
 * buildReferenceProfile and stored through the profile owner, and prediction events drawn from the same classes or
 * shifted ones.
 */
import crypto from 'node:crypto';
import { type PredictionEvent, type ProfileOptions, type ReferenceProfile, buildReferenceProfile, embeddingToBytes, packProfileArrays } from '@edgeloop/shared';
import { type EmbeddingModel, embeddingModel, sampleEmbeddings } from '@edgeloop/shared/test-support/embedding-classes';
import type { HubDeps } from '../src/deps';
import type { NewPrediction } from '../src/feedback/feedback.repository';
import * as profiles from '../src/monitoring/reference-profile.repository';

export const SYNTHETIC_LABELS = ['ant', 'bee', 'cat'] as const;
/** d: embedding length. */
export const SYNTHETIC_DIM = 6;

/** The classes (K = labels.length) and the embedding length d. */
export interface SyntheticShape {
  labels: readonly string[];
  dim: number;
}
const SMALL: SyntheticShape = { labels: SYNTHETIC_LABELS, dim: SYNTHETIC_DIM };

/** The classes of a shape: means drawn once (seeded), separated enough for an accuracy around 0.9. */
export const syntheticModel = (shape: SyntheticShape = SMALL): EmbeddingModel => embeddingModel({ k: shape.labels.length, d: shape.dim, separation: 2.5, seed: 19 });

export interface Draw {
  /** [d] */
  embedding: number[];
  label: number;
  /** Softmax of the head's logits [K]. */
  probabilities: number[];
}

/** n draws with labels from `priors` (the model's uniform ones by default); `offset` [d] is added to every embedding. */
export function drawSynthetic(seed: number, n: number, options: { priors?: readonly number[]; offset?: readonly number[]; shape?: SyntheticShape } = {}): Draw[] {
  const model = syntheticModel(options.shape);
  const { k, d, head } = model;
  const { embeddings, labels } = sampleEmbeddings(model, n, seed, {
    ...(options.priors ? { priors: options.priors } : {}),
    ...(options.offset ? { transform: (row: Float32Array) => row.forEach((_, j) => (row[j]! += options.offset![j] ?? 0)) } : {}),
  });
  return Array.from({ length: n }, (_, i) => {
    const embedding = Array.from(embeddings.subarray(i * d, (i + 1) * d));
    const logits = Array.from({ length: k }, (_, c) => embedding.reduce((s, e, j) => s + e * head.kernel[j * k + c]!, head.bias[c]!));
    const max = Math.max(...logits);
    const exps = logits.map((z) => Math.exp(z - max));
    const total = exps.reduce((s, e) => s + e, 0);
    return { embedding, label: labels[i]!, probabilities: exps.map((e) => e / total) };
  });
}

/** A profile of the synthetic classes; small simulation settings keep it fast (the thresholds are still calibrated). */
export function syntheticProfile(seed = 7, options: Partial<ProfileOptions> = {}, shape: SyntheticShape = SMALL): ReferenceProfile {
  const model = syntheticModel(shape);
  return buildReferenceProfile({
    labels: [...shape.labels],
    embeddingSize: shape.dim,
    head: model.head,
    val: sampleEmbeddings(model, 600, seed),
    test: sampleEmbeddings(model, 900, seed + 1),
    seed,
    // A rank below d: with rank >= d the profile's explained-variance ratio can round above 1, which its schema refuses.
    options: { simulatedStreams: 400, validationStreams: 0, referenceSize: 400, simulationSize: 500, pcaRank: Math.min(16, shape.dim - 2), ...options },
  });
}

/** Stores the profile as ready for the model version, through the profile owner (as the profile job would). */
export async function storeProfile(deps: HubDeps, modelVersionId: string, profile: ReferenceProfile): Promise<void> {
  const arrays = packProfileArrays(profile.arrays);
  await profiles.startComputing(deps.db, modelVersionId, deps.now());
  const used = { used: profile.summary.counts.test, available: profile.summary.counts.test };
  const stored = await profiles.markReady(deps.db, modelVersionId, {
    encoding: 'float32',
    summary: {
      ...profile.summary,
      dataSource: { datasetVersionId: 'synthetic', encoding: 'float32', val: used, test: used, maxItems: 5000, sampled: false, valHeldOutOfTrain: false, headError: 0 },
    },
    arrays,
    sha256: crypto.createHash('sha256').update(arrays).digest('hex'),
    at: deps.now(),
  });
  if (!stored) throw new Error(`the profile of ${modelVersionId} was not computing`);
}

/** Prediction events of the draws as a device sends them: its top 5 (at most) by the head's probabilities. */
export function predictionEvents(
  draws: Draw[],
  event: { model: string; version: number; backend?: PredictionEvent['backend']; latencyMs?: number; labels?: readonly string[] },
): PredictionEvent[] {
  const labels = event.labels ?? SYNTHETIC_LABELS;
  return draws.map((draw) => ({
    id: crypto.randomUUID(),
    model: event.model,
    version: event.version,
    backend: event.backend ?? 'webgpu',
    latencyMs: event.latencyMs ?? 4,
    top: draw.probabilities
      .map((probability, c) => ({ label: labels[c]!, probability }))
      .sort((a, b) => b.probability - a.probability)
      .slice(0, 5),
    embedding: draw.embedding,
    source: 'camera',
    createdAt: new Date().toISOString(),
  }));
}

/**
 * The draws as stored prediction rows (top-1 only), for tests and benchmarks that lay out a stream without the API:
 * `sender(i)` names the i-th row's installation and sender.
 */
export function predictionRows(
  draws: Draw[],
  row: {
    projectId: string;
    modelVersionId: string;
    sender: (i: number) => { deviceId?: string | null; sentBy?: string };
    labels?: readonly string[];
    backend?: string;
    latencyMs?: (i: number) => number;
    createdAt?: Date;
  },
): NewPrediction[] {
  const labels = row.labels ?? SYNTHETIC_LABELS;
  const createdAt = row.createdAt ?? new Date();
  return draws.map((draw, i) => {
    const top = draw.probabilities.indexOf(Math.max(...draw.probabilities));
    const { deviceId = null, sentBy = 'test-device' } = row.sender(i);
    return {
      id: crypto.randomUUID(),
      projectId: row.projectId,
      modelVersionId: row.modelVersionId,
      label: labels[top]!,
      confidence: draw.probabilities[top]!,
      topK: [{ label: labels[top]!, probability: draw.probabilities[top]! }],
      embedding: embeddingToBytes(draw.embedding),
      backend: row.backend ?? 'wasm',
      latencyMs: row.latencyMs?.(i) ?? 3,
      source: 'camera',
      sentBy,
      deviceId,
      createdAt,
    };
  });
}
