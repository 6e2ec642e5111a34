/**
 * The reference profile of a published model version: what its recommended encoding (the weights devices run) does on
 * the held-out splits of the dataset version it was trained on (val and test, never train), computed once by the
 * `monitor.profile` job and immutable like the version. The statistics are shared's buildReferenceProfile, run in a
 * worker thread; this file is the I/O around it: which data, which model, where it is stored, who is told.
 */
import crypto from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import {
  MIN_TEST_ROWS,
  MIN_VAL_ROWS,
  type ReferenceProfile,
  type StoredReferenceProfileSummary,
  formatIssues,
  storedReferenceProfileSummarySchema,
  unpackProfileArrays,
} from '@edgeloop/shared';
import type { HubDeps } from '../deps';
import { QUEUES } from '../jobs/job-queue';
import { getProjectById } from '../projects/project.service';
import { requireModelVersion } from '../registry/model-lookup';
import * as models from '../registry/model-version.repository';
import { readPublishedModel } from '../registry/published-model';
import { loadHeldOutData } from '../training/dataset-loader';
import { requireRun } from '../training/run.service';
import { buildProfileInWorker } from './profile-build';
import { ProfileError, classifierHead, embedImages, headReproduction } from './profile-embeddings';
import * as profiles from './reference-profile.repository';
import type { ProfileRow, ProfileStatus } from './reference-profile.repository';

/** At most this many val + test images go into a profile (a seeded sample of each split beyond it). */
export const MAX_PROFILE_ITEMS = 5_000;
/** A profile computing for longer than this lost its worker: the next ensure sends the job again. */
export const STALE_COMPUTING_MS = 20 * 60_000;
/** A failed profile is tried again on use after this long (a transient failure heals; a lasting one costs one try an hour). */
export const FAILED_RETRY_MS = 60 * 60_000;
/** softmax(e · kernel + bias) may differ from the model's own output by float error only. */
const HEAD_TOLERANCE = 1e-3;

/** The job's seed: the same version gives the same sample and the same thresholds on every machine. */
export function profileSeed(modelVersionId: string): number {
  return crypto.createHash('sha256').update(modelVersionId).digest().readUInt32BE(0);
}

/**
 * Claims the version's profile (a new one, or a failed one again) and sends the `monitor.profile` job; a profile
 * already computing or ready is left as it is. Returns the row now stored.
 */
export async function requestReferenceProfile(deps: HubDeps, modelVersionId: string): Promise<ProfileRow> {
  const { started, row } = await profiles.startComputing(deps.db, modelVersionId, deps.now());
  if (started) await sendProfileJob(deps, modelVersionId);
  return row;
}

async function sendProfileJob(deps: HubDeps, modelVersionId: string): Promise<void> {
  // The queue keeps one queued and one active job per key: asking again while one waits sends nothing.
  await deps.queue.send(QUEUES.monitorProfile, { modelVersionId }, { singletonKey: modelVersionId });
}

export type ComputeOutcome = ProfileStatus | 'skipped';

/**
 * Computes and stores the version's profile when it is computing (claims it first when there is no row). A ready
 * profile is left alone ('ready'), a failed one too ('failed': requestReferenceProfile retries). Any error fails the
 * profile with an engineer-readable reason; nothing is thrown for a model the profile cannot describe.
 */
export async function computeReferenceProfile(deps: HubDeps, modelVersionId: string): Promise<ComputeOutcome> {
  const version = await models.findVersionById(deps.db, modelVersionId);
  if (!version) return 'skipped'; // deleted since the job was sent
  let row = await profiles.byVersion(deps.db, modelVersionId);
  row ??= (await profiles.startComputing(deps.db, modelVersionId, deps.now())).row;
  if (row.status !== 'computing') return row.status;

  const started = performance.now();
  const log = (line: string) => deps.log.info(`profile of model version ${modelVersionId.slice(0, 8)}: ${line}`);
  let encoding: string | null = null;
  let loaded: Awaited<ReturnType<typeof readPublishedModel>> | undefined;
  try {
    const run = await requireRun(deps, version.runId);
    const project = await getProjectById(deps, run.projectId);
    loaded = await readPublishedModel(deps, version.manifestKey);
    const { manifest, model } = loaded;
    encoding = manifest.recommended;
    const head = classifierHead(model);
    const seed = profileSeed(modelVersionId);
    const data = await loadHeldOutData(
      deps,
      { project: project.slug, versionId: run.datasetVersionId, preprocessing: manifest.preprocessing, maxItems: MAX_PROFILE_ITEMS, seed },
      log,
    );
    if (data.labels.length !== head.classes) {
      throw new ProfileError(`the model has ${head.classes} outputs but its dataset version ${run.datasetVersionId.slice(0, 12)} has ${data.labels.length} labels`);
    }
    if (data.val.count < MIN_VAL_ROWS || data.test.count < MIN_TEST_ROWS) {
      throw new ProfileError(
        `dataset version ${run.datasetVersionId.slice(0, 12)} has ${data.val.count} val and ${data.test.count} test items; a profile needs at least ${MIN_VAL_ROWS} val (calibration) and ${MIN_TEST_ROWS} test (reference and thresholds)`,
      );
    }
    const dataLoaded = performance.now();
    const val = await embedImages(model, head, data.val, manifest.preprocessing);
    const test = await embedImages(model, head, data.test, manifest.preprocessing);
    const gap = Math.max(headReproduction(head, val), headReproduction(head, test));
    if (!(gap <= HEAD_TOLERANCE)) {
      throw new ProfileError(`softmax(embedding · dense kernel + bias) differs from the model's output by up to ${gap.toPrecision(3)}: the head is not one dense layer on the embedding`);
    }
    const embedded = performance.now();
    log(`images loaded in ${seconds(dataLoaded - started)}, embedded on ${tf.getBackend()} in ${seconds(embedded - dataLoaded)}`);
    const profile = await buildProfileInWorker({
      labels: data.labels,
      embeddingSize: head.embeddingSize,
      head: { kernel: head.kernel, bias: head.bias },
      val: { embeddings: val.embeddings, labels: Int32Array.from(data.val.labels.subarray(0, data.val.count)) },
      test: { embeddings: test.embeddings, labels: Int32Array.from(data.test.labels.subarray(0, data.test.count)) },
      seed,
    });
    const { arrays } = profile;
    const sha256 = crypto.createHash('sha256').update(arrays).digest('hex');
    const summary = checkedSummary({
      ...profile.summary,
      dataSource: {
        datasetVersionId: run.datasetVersionId,
        encoding,
        val: { used: data.val.count, available: data.available.val },
        test: { used: data.test.count, available: data.available.test },
        maxItems: MAX_PROFILE_ITEMS,
        sampled: data.val.count < data.available.val || data.test.count < data.available.test,
        valHeldOutOfTrain: data.valHeldOutOfTrain,
        headError: gap,
      },
    });
    const stored = await profiles.markReady(deps.db, modelVersionId, { encoding, summary, arrays, sha256, at: deps.now() });
    log(
      `${stored ? 'ready' : 'finished after another worker'}: ${data.val.count} val + ${data.test.count} test images, ${encoding}; statistics in ${seconds(performance.now() - embedded)}, ${arrays.length} bytes`,
    );
    return stored ? 'ready' : ((await profiles.byVersion(deps.db, modelVersionId))?.status ?? 'skipped');
  } catch (error) {
    const reason = failureReason(error);
    deps.log.warn(`profile of model version ${modelVersionId}: failed: ${(error as Error).stack ?? reason}`);
    await profiles.markFailed(deps.db, modelVersionId, { error: reason, encoding, at: deps.now() });
    return 'failed';
  } finally {
    loaded?.model.dispose();
  }
}

/** The summary checked against the contract it is read back with: a summary no reader could use fails the profile now, saying why. */
function checkedSummary(summary: StoredReferenceProfileSummary): StoredReferenceProfileSummary {
  const parsed = storedReferenceProfileSummarySchema.safeParse(summary);
  if (parsed.success) return parsed.data;
  throw new ProfileError(`the computed summary does not match its contract (${formatIssues(parsed.error)}); nothing was stored`);
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * The reason stored for people (admins, engineers and CI read it): our own errors as they are; anything else by its
 * first line, and a failed query without its SQL and parameters. The whole error with its stack goes to the log.
 */
function failureReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof ProfileError) return message.slice(0, 2000);
  const first = message.split('\n')[0]!.slice(0, 500);
  return /^failed query/i.test(first) ? 'computing the profile failed: a database query failed (details in the hub log)' : `computing the profile failed: ${first} (details in the hub log)`;
}

/** Why the version's profile failed (the monitor reads none of its events then); null when it did not fail. */
export async function profileFailure(deps: HubDeps, modelVersionId: string): Promise<string | null> {
  const row = await profiles.byVersion(deps.db, modelVersionId);
  return row?.status === 'failed' ? (row.error ?? 'computing the profile failed') : null;
}

export type EnsuredProfile = { status: 'ready'; profile: ReferenceProfile } | { status: 'computing' | 'failed'; error: string | null };

/**
 * The version's profile when it is ready; otherwise its status, after sending the job where it is due: no profile
 * yet (a version published before profiles existed), one computing for longer than STALE_COMPUTING_MS, or one that
 * failed more than FAILED_RETRY_MS ago.
 */
export async function ensureReferenceProfile(deps: HubDeps, modelVersionId: string): Promise<EnsuredProfile> {
  const ready = await loadReferenceProfile(deps, modelVersionId);
  if (ready) return { status: 'ready', profile: ready };
  const row = await ensureRequested(deps, modelVersionId);
  if (row.status === 'ready') return { status: 'ready', profile: (await loadReferenceProfile(deps, modelVersionId))! };
  return { status: row.status, error: row.error };
}

/** The row after sending the job where it is due (see ensureReferenceProfile). */
async function ensureRequested(deps: HubDeps, modelVersionId: string): Promise<ProfileRow> {
  const row = await profiles.byVersion(deps.db, modelVersionId);
  const now = deps.now();
  if (!row) return requestReferenceProfile(deps, modelVersionId);
  if (row.status === 'computing' && (await profiles.reclaimStale(deps.db, modelVersionId, { before: new Date(now.getTime() - STALE_COMPUTING_MS), at: now }))) {
    await sendProfileJob(deps, modelVersionId);
  }
  if (row.status === 'failed' && (row.completedAt?.getTime() ?? 0) < now.getTime() - FAILED_RETRY_MS) return requestReferenceProfile(deps, modelVersionId);
  return row;
}

// Profiles never change once ready: keep the few most recently used, arrays unpacked.
const loadedProfiles = new Map<string, ReferenceProfile>();
const LOADED_PROFILES = 8;

/** The version's ready profile with its arrays unpacked, or null when it is not ready (nothing is sent). */
export async function loadReferenceProfile(deps: HubDeps, modelVersionId: string): Promise<ReferenceProfile | null> {
  const cached = loadedProfiles.get(modelVersionId);
  if (cached) {
    loadedProfiles.delete(modelVersionId);
    loadedProfiles.set(modelVersionId, cached);
    return cached;
  }
  const row = await profiles.withArrays(deps.db, modelVersionId);
  if (!row || row.status !== 'ready' || !row.summary || !row.arrays) return null;
  if (crypto.createHash('sha256').update(row.arrays).digest('hex') !== row.sha256) {
    throw new Error(`the stored arrays of the reference profile of model version ${modelVersionId} do not match their sha256; the row was changed outside the hub`);
  }
  const profile: ReferenceProfile = { summary: row.summary, arrays: unpackProfileArrays(row.arrays) };
  loadedProfiles.set(modelVersionId, profile);
  if (loadedProfiles.size > LOADED_PROFILES) loadedProfiles.delete(loadedProfiles.keys().next().value!);
  return profile;
}

/** What the admin and CI read about a version's profile: no arrays. */
export interface ProfileAnswer {
  status: ProfileStatus;
  /** Why it failed, for an engineer. */
  error?: string;
  /** The weight encoding it was computed with (the version's recommended one). */
  encoding?: string;
  summary?: StoredReferenceProfileSummary;
  completedAt?: string;
}

/** The profile of `project`'s `model` version `version`; started now when it has none (first use). */
export async function referenceProfileOf(deps: HubDeps, input: { project: string; model: string; version: number }): Promise<ProfileAnswer> {
  const { project, version } = await requireModelVersion(deps, input);
  const row = await ensureRequested(deps, version.id);
  return {
    status: row.status,
    ...(row.error === null ? {} : { error: row.error }),
    ...(row.encoding === null ? {} : { encoding: row.encoding }),
    ...(row.summary === null ? {} : { summary: row.summary }),
    ...(row.completedAt === null ? {} : { completedAt: row.completedAt.toISOString() }),
  };
}
