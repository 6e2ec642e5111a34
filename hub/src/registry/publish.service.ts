/**
 * Publishing: a succeeded run becomes the next version of a registered model. Each weight encoding that passes the
 * accuracy gate is written as content-hashed shards and model.json, then a signed manifest names them all.
 * Nothing under a version is ever rewritten: every file name carries its content hash.
 */
import crypto from 'node:crypto';
import {
  type GateDecision,
  IMMUTABLE_CACHE_CONTROL,
  MODEL_FORMATS,
  type ModelFormat,
  type ModelManifest,
  type ModelMetrics,
  type ModelVariant,
  type PublishedFile,
  type WeightFormats,
  cdnUrl,
  formatFilePath,
  manifestFileName,
  modelJsonFileName,
  shardFileName,
  versionDir,
} from '@edgeloop/shared';
import { EMBEDDING_LAYER, type ModelArtifacts, modelJsonFor, splitIntoShards } from '@edgeloop/training';
import type { Caller, HubDeps } from '../deps';
import { getProjectById } from '../projects/project.service';
import { badRequest, conflict } from '../errors';
import { requestReferenceProfile } from '../monitoring/reference-profile.service';
import type { Run } from '../training/run.repository';
import { preprocessingFor, requireRun } from '../training/run.service';
import { readRunArtifacts } from '../training/run-artifacts';
import { runMetrics } from '../training/run-metrics';
import * as models from './model-version.repository';
import type { ModelVersion } from './model-version.repository';
import { signPayload, signingKey } from './signing';

export interface PublishInput {
  runId: string;
  model: string;
  /** Largest accuracy drop (points) a quantized encoding may show; default: the run's maxQuantizationDrop. */
  maxQuantizationDrop?: number;
}

export interface ModelVersionSummary {
  id: string;
  project: string;
  model: string;
  version: number;
  runId: string;
  recommended: ModelFormat;
  manifestUrl: string;
  formats: WeightFormats;
  metrics: ModelMetrics;
  createdBy: string;
  createdAt: string;
}

const sha256 = (bytes: Uint8Array) => crypto.createHash('sha256').update(bytes).digest('hex');

/** float32 always passes; a quantized encoding passes when its accuracy drop is within the threshold. */
export function gateEncodings(accuracies: Partial<Record<ModelFormat, number>>, maxDropPoints: number): GateDecision[] {
  const reference = accuracies.float32;
  if (reference === undefined) throw badRequest('the run has no float32 evaluation to gate against');
  return MODEL_FORMATS.filter((f) => accuracies[f] !== undefined).map((format) => {
    const accuracy = accuracies[format]!;
    const drop = (reference - accuracy) * 100;
    const published = format === 'float32' || drop <= maxDropPoints;
    return {
      format,
      accuracy,
      drop,
      published,
      ...(published ? {} : { reason: `accuracy drop ${drop.toFixed(2)} points exceeds the ${maxDropPoints} point threshold` }),
    };
  });
}

/** The encoding devices are told to run: the smallest of those published (ties: the first, in MODEL_FORMATS order). */
export function recommendedFormat(variants: readonly { format: ModelFormat; bytes: number }[]): ModelFormat {
  return [...variants].sort((a, b) => a.bytes - b.bytes)[0]!.format;
}

/**
 * What publishing the succeeded `run` would publish and recommend, with nothing written: the encodings that pass the
 * accuracy gate (the run's own maxQuantizationDrop), and of those the one with the fewest published bytes, with its
 * artifacts. The bytes are those writeVariant would write: the weights plus model.json, whose shard names carry
 * fixed-length hashes (so placeholder hashes give the same length).
 */
export async function recommendedForRun(deps: HubDeps, run: Run): Promise<{ format: ModelFormat; artifacts: ModelArtifacts; gate: GateDecision[] }> {
  if (run.status !== 'succeeded' || !run.artifactPrefix || !run.evaluation) throw conflict(`run ${run.id} is ${run.status}; only a succeeded run has a recommended encoding`);
  const evaluation = run.evaluation;
  const gate = gateEncodings(Object.fromEntries(MODEL_FORMATS.map((f) => [f, evaluation[f]?.accuracy])), run.trainConfig.maxQuantizationDrop);
  const candidates = await Promise.all(
    gate
      .filter((g) => g.published)
      .map(async ({ format }) => {
        const artifacts = await readRunArtifacts(deps, run.artifactPrefix!, format);
        const shards = splitIntoShards(artifacts.weightData);
        const names = shards.map((_, i) => shardFileName(i + 1, shards.length, '0'.repeat(64)));
        const bytes = artifacts.weightData.length + new TextEncoder().encode(JSON.stringify(modelJsonFor(artifacts, names))).length;
        return { format, bytes, artifacts };
      }),
  );
  const format = recommendedFormat(candidates);
  return { format, artifacts: candidates.find((c) => c.format === format)!.artifacts, gate };
}

export type PublishResult = ModelVersionSummary & {
  gate: GateDecision[];
  /** True when the run was already published as this version of the model: nothing new was made. */
  existing: boolean;
};

export async function publishRun(deps: HubDeps, caller: Caller, input: PublishInput): Promise<PublishResult> {
  const run = await requireRun(deps, input.runId);
  if (run.status !== 'succeeded' || !run.artifactPrefix || !run.evaluation) throw conflict(`run ${run.id} is ${run.status}; only a succeeded run can be published`);
  const project = await getProjectById(deps, run.projectId);
  // Publishing is idempotent per (model, run): the same run again answers with the version it already made.
  const already = await models.versionOfRun(deps.db, { projectId: project.id, model: input.model, runId: run.id });
  if (already) {
    deps.log.info(`publish ${run.id}: already published as ${project.slug}/${input.model} v${already.version}`);
    return { ...toVersionSummary(deps, already, project.slug, input.model), gate: gateOf(already), existing: true };
  }
  const modelConfig = run.modelConfig;
  const evaluation = run.evaluation;
  const maxDrop = input.maxQuantizationDrop ?? run.trainConfig.maxQuantizationDrop;
  const gate = gateEncodings(Object.fromEntries(MODEL_FORMATS.map((f) => [f, evaluation[f]?.accuracy])), maxDrop);
  for (const refused of gate.filter((g) => !g.published)) deps.log.warn(`publish ${run.id}: ${refused.format} refused: ${refused.reason}`);

  const registered = await models.ensureModel(deps.db, { projectId: project.id, name: input.model, createdBy: caller.name });
  const version = ((await models.latestVersionNumber(deps.db, registered.id)) ?? 0) + 1;
  const dir = versionDir(project.slug, input.model, version);

  const variants: ModelVariant[] = [];
  for (const decision of gate.filter((g) => g.published)) {
    const artifacts = await readRunArtifacts(deps, run.artifactPrefix, decision.format);
    variants.push({ ...(await writeVariant(deps, dir, decision.format, artifacts)), accuracy: decision.accuracy });
  }
  const recommended = recommendedFormat(variants);
  const metrics = { ...runMetrics(undefined, evaluation), ...(evaluation.float32 ? { testLoss: evaluation.float32.loss } : {}) };
  const manifest: ModelManifest = {
    format: 'edgeloop.model/v1',
    project: project.slug,
    model: input.model,
    version,
    createdAt: deps.now().toISOString(),
    labels: project.labels,
    preprocessing: preprocessingFor(modelConfig),
    architecture: modelConfig.architecture,
    runId: run.id,
    datasetVersionId: run.datasetVersionId,
    embeddingLayer: EMBEDDING_LAYER,
    metrics: metrics as Record<string, number>,
    recommended,
    variants,
  };
  const envelope = new TextEncoder().encode(JSON.stringify(signPayload(await signingKey(deps), JSON.stringify(manifest))));
  const manifestSha256 = sha256(envelope);
  const manifestKey = `${dir}${manifestFileName(manifestSha256)}`;
  await deps.store.put(manifestKey, envelope, { contentType: 'application/json', cacheControl: IMMUTABLE_CACHE_CONTROL });

  const formats: WeightFormats = Object.fromEntries(gate.map((g) => [g.format, { ...g, bytes: variants.find((v) => v.format === g.format)?.bytes ?? null }]));
  let row: ModelVersion;
  try {
    row = await models.createVersion(deps.db, { modelId: registered.id, version, runId: run.id, manifestKey, manifestSha256, recommended, formats, metrics: manifest.metrics, createdBy: caller.name });
  } catch (error) {
    if (String((error as { code?: string }).code ?? (error as Error).message).match(/23505|unique/)) {
      // Two publishes of the same run at once: the one that lost the version number answers with the winner's.
      const winner = await models.versionOfRun(deps.db, { projectId: project.id, model: input.model, runId: run.id });
      if (winner) return { ...toVersionSummary(deps, winner, project.slug, input.model), gate: gateOf(winner), existing: true };
      throw conflict(`version ${version} of ${input.model} was published concurrently; publish again`);
    }
    throw error;
  }
  deps.log.info(`published ${project.slug}/${input.model} v${version} from run ${run.id} (${variants.map((v) => `${v.format} ${v.bytes} B`).join(', ')})`);
  // The version's reference profile is computed off the request path; should sending fail, its first use sends it again.
  await requestReferenceProfile(deps, row.id).catch((error: Error) => deps.log.warn(`publish ${run.id}: reference profile not requested (${error.message}); it is computed on first use`));
  return { ...toVersionSummary(deps, row, project.slug, input.model), gate, existing: false };
}

/**
 * The model versions a run was published as: publishing runs in its request (a few hundred ms for a small CNN, longer
 * for a large one), so a person who left the page while it ran finds what it made here.
 */
export async function publishedFromRun(deps: HubDeps, runId: string): Promise<{ model: string; version: number; createdAt: string }[]> {
  const run = await requireRun(deps, runId);
  return (await models.versionsOfRun(deps.db, run.id)).map((v) => ({ model: v.model, version: v.version, createdAt: v.createdAt.toISOString() }));
}

/** The gate decisions a version was published with, as kept in its formats column (jsonb keeps no key order). */
function gateOf(row: ModelVersion): GateDecision[] {
  return MODEL_FORMATS.flatMap((format) => {
    const published = row.formats[format];
    if (!published) return [];
    const { bytes: _bytes, ...decision } = published;
    return [decision];
  });
}

/** Shards of <= 4 MiB and a model.json naming them, all content-hashed, under <version>/<format>/. */
async function writeVariant(deps: HubDeps, dir: string, format: ModelFormat, artifacts: ModelArtifacts): Promise<Omit<ModelVariant, 'accuracy'>> {
  const shards = splitIntoShards(artifacts.weightData);
  const shardFiles: PublishedFile[] = [];
  const shardNames: string[] = []; // as model.json names them: relative to itself
  for (const [i, shard] of shards.entries()) {
    const hash = sha256(shard);
    const name = shardFileName(i + 1, shards.length, hash);
    shardNames.push(name);
    const path = formatFilePath(format, name);
    await deps.store.put(`${dir}${path}`, shard, { contentType: 'application/octet-stream', cacheControl: IMMUTABLE_CACHE_CONTROL });
    shardFiles.push({ path, sha256: hash, bytes: shard.length });
  }
  const modelJson = new TextEncoder().encode(JSON.stringify(modelJsonFor(artifacts, shardNames)));
  const hash = sha256(modelJson);
  const modelJsonPath = formatFilePath(format, modelJsonFileName(hash));
  await deps.store.put(`${dir}${modelJsonPath}`, modelJson, { contentType: 'application/json', cacheControl: IMMUTABLE_CACHE_CONTROL });
  return {
    format,
    modelJson: { path: modelJsonPath, sha256: hash, bytes: modelJson.length },
    shards: shardFiles,
    bytes: modelJson.length + shardFiles.reduce((n, f) => n + f.bytes, 0),
  };
}

export function toVersionSummary(deps: HubDeps, row: ModelVersion, project: string, model: string): ModelVersionSummary {
  return {
    id: row.id,
    project,
    model,
    version: row.version,
    runId: row.runId,
    recommended: row.recommended as ModelFormat,
    manifestUrl: cdnUrl(deps.cdnBaseUrl, row.manifestKey),
    formats: row.formats,
    metrics: row.metrics,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
  };
}

