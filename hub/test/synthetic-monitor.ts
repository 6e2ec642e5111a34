/**
 * For tests and benchmarks of stream monitors without a trained model: classes that are unit-variance Gaussians in a
 * small embedding space, a linear head that gives their exact posteriors (logits = e·kernel + bias), a reference
 * profile built from held-out draws by shared's buildReferenceProfile and stored through the profile owner, and
 * prediction events drawn from the same classes, or shifted ones.
 */
import crypto from 'node:crypto';
import { type PredictionEvent, type ProfileOptions, type ReferenceProfile, buildReferenceProfile, mulberry32, packProfileArrays } from '@edgeloop/shared';
import type { HubDeps } from '../src/deps';
import * as profiles from '../src/monitoring/reference-profile.repository';

export const SYNTHETIC_LABELS = ['ant', 'bee', 'cat'] as const;
/** d: embedding length. */
export const SYNTHETIC_DIM = 6;
const K = SYNTHETIC_LABELS.length;
/** Class c's mean: SEPARATION on axis c, 0 elsewhere ([K][d]). */
const SEPARATION = 2.5;
const means: number[][] = Array.from({ length: K }, (_, c) => Array.from({ length: SYNTHETIC_DIM }, (_, j) => (j === c ? SEPARATION : 0)));

/** The Bayes head of the classes under uniform priors: kernel [d, K] row-major, bias [K]. */
export function syntheticHead(): { kernel: Float32Array; bias: Float32Array } {
  const kernel = new Float32Array(SYNTHETIC_DIM * K);
  const bias = new Float32Array(K);
  for (let c = 0; c < K; c++) {
    for (let j = 0; j < SYNTHETIC_DIM; j++) kernel[j * K + c] = means[c]![j]!;
    bias[c] = -means[c]!.reduce((s, m) => s + m * m, 0) / 2;
  }
  return { kernel, bias };
}

function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

export interface Draw {
  /** [d] */
  embedding: number[];
  label: number;
  /** Softmax of the head's logits [K]. */
  probabilities: number[];
}

/**
 * n draws with labels from `priors` (uniform by default); `offset` [d] is added to every embedding (a covariate shift).
 */
export function drawSynthetic(seed: number, n: number, options: { priors?: readonly number[]; offset?: readonly number[] } = {}): Draw[] {
  const random = mulberry32(seed);
  const priors = options.priors ?? new Array<number>(K).fill(1 / K);
  const { kernel, bias } = syntheticHead();
  return Array.from({ length: n }, () => {
    let u = random();
    let label = 0;
    while (label < K - 1 && u >= priors[label]!) u -= priors[label++]!;
    const embedding = means[label]!.map((m, j) => m + normal(random) + (options.offset?.[j] ?? 0));
    const logits = Array.from({ length: K }, (_, c) => embedding.reduce((s, e, j) => s + e * kernel[j * K + c]!, bias[c]!));
    const max = Math.max(...logits);
    const exps = logits.map((z) => Math.exp(z - max));
    const total = exps.reduce((s, e) => s + e, 0);
    return { embedding, label, probabilities: exps.map((e) => e / total) };
  });
}

const asSplit = (draws: Draw[]) => ({ embeddings: Float32Array.from(draws.flatMap((d) => d.embedding)), labels: Int32Array.from(draws.map((d) => d.label)) });

/** A profile of the synthetic classes; small simulation settings keep it fast (the thresholds are still calibrated). */
export function syntheticProfile(seed = 7, options: Partial<ProfileOptions> = {}): ReferenceProfile {
  return buildReferenceProfile({
    labels: [...SYNTHETIC_LABELS],
    embeddingSize: SYNTHETIC_DIM,
    head: syntheticHead(),
    val: asSplit(drawSynthetic(seed, 600)),
    test: asSplit(drawSynthetic(seed + 1, 900)),
    seed,
    options: { simulatedStreams: 400, validationStreams: 0, referenceSize: 400, simulationSize: 500, ...options },
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

/** Prediction events of the draws as a device sends them: top-1 = the head's argmax, top-3 with probabilities. */
export function predictionEvents(draws: Draw[], event: { model: string; version: number; backend?: PredictionEvent['backend']; latencyMs?: number }): PredictionEvent[] {
  return draws.map((draw) => ({
    id: crypto.randomUUID(),
    model: event.model,
    version: event.version,
    backend: event.backend ?? 'webgpu',
    latencyMs: event.latencyMs ?? 4,
    top: draw.probabilities
      .map((probability, c) => ({ label: SYNTHETIC_LABELS[c]!, probability }))
      .sort((a, b) => b.probability - a.probability),
    embedding: draw.embedding,
    source: 'camera',
    createdAt: new Date().toISOString(),
  }));
}
