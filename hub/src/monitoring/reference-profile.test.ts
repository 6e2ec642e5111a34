import * as tf from '@tensorflow/tfjs';
import { FASHION_PREPROCESSING, loadFashionMnist } from '@edgeloop/training/test-support';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishedVersion } from '../../test/published-version';
import { DATABASES, type TestHub, createTestHub, refusal } from '../../test/test-hub';
import { publishTinyVersion } from '../../test/tiny-model-version';
import { referenceProfiles } from '../db/schema';
import { QUEUES } from '../jobs/job-queue';
import { getProject } from '../projects/project.service';
import * as models from '../registry/model-version.repository';
import { readPublishedModel } from '../registry/published-model';
import { loadHeldOutData, loadTrainingData } from '../training/dataset-loader';
import { startReferenceProfileWorker } from './reference-profile.job';
import * as profiles from './reference-profile.repository';
import { FAILED_RETRY_MS, computeReferenceProfile, ensureReferenceProfile, loadReferenceProfile, profileSeed } from './reference-profile.service';

const COUNTS = { train: 96, val: 40, test: 120 };

describe.each(DATABASES)('reference profiles on $kind', ({ kind, skip }) => {
  let hub: TestHub;
  let tiny: Awaited<ReturnType<typeof publishTinyVersion>>;

  beforeAll(async () => {
    if (skip) return;
    hub = await createTestHub(kind);
    tiny = await publishTinyVersion(hub, { project: 'shop', model: 'tiny', counts: COUNTS });
  });
  afterAll(() => hub?.close());

  it.skipIf(skip)('computes a published version profile on its val and test splits with the recommended encoding, once, without leaking tensors', async () => {
    const versionId = tiny.published.id;
    // Publishing asked for it: the row is computing and its job waits in the queue.
    expect((await profiles.byVersion(hub.deps.db, versionId))?.status).toBe('computing');
    expect(await hub.deps.queue.getQueueSize(QUEUES.monitorProfile)).toBe(1);
    expect(await loadReferenceProfile(hub.deps, versionId)).toBeNull();

    const before = tf.memory().numTensors;
    const outcome = await computeReferenceProfile(hub.deps, versionId);
    expect(outcome, (await profiles.byVersion(hub.deps.db, versionId))?.error ?? '').toBe('ready');
    expect(tf.memory().numTensors).toBe(before);

    const row = (await profiles.byVersion(hub.deps.db, versionId))!;
    expect(row).toMatchObject({ status: 'ready', error: null, encoding: tiny.published.recommended });
    const summary = row.summary!;
    const recommended = tiny.evaluation[tiny.published.recommended]!;
    // The same model devices run, on the same test items: the accuracy training measured for that encoding.
    expect(summary.accuracy).toBeCloseTo(recommended.accuracy, 9);
    expect(summary.confusion).toEqual(recommended.confusion);
    // Only the held-out splits, every item of them.
    expect(summary.counts).toEqual({ val: COUNTS.val, test: COUNTS.test });
    expect(summary.dataSource).toMatchObject({ datasetVersionId: tiny.datasetVersionId, encoding: tiny.published.recommended, val: { used: COUNTS.val, available: COUNTS.val }, test: { used: COUNTS.test, available: COUNTS.test }, sampled: false, valHeldOutOfTrain: false });
    expect(summary.dataSource.headError).toBeLessThan(1e-4);
    expect(summary.seed).toBe(profileSeed(versionId));

    // The head in the arrays is the published (dequantized) dense layer.
    const profile = (await loadReferenceProfile(hub.deps, versionId))!;
    const { model } = await readPublishedModel(hub.deps, (await models.findVersionById(hub.deps.db, versionId))!.manifestKey);
    const [kernel, bias] = model.getLayer('logits').getWeights();
    expect(Array.from(profile.arrays.headKernel)).toEqual(Array.from(kernel!.dataSync()));
    expect(Array.from(profile.arrays.headBias)).toEqual(Array.from(bias!.dataSync()));
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(await loadReferenceProfile(hub.deps, versionId)).toBe(profile); // kept in memory: profiles never change

    // A second computation changes nothing; the ready row refuses any update.
    expect(await computeReferenceProfile(hub.deps, versionId)).toBe('ready');
    expect(await profiles.byVersion(hub.deps.db, versionId)).toEqual(row);
    expect(await profiles.markFailed(hub.deps.db, versionId, { error: 'x', encoding: null, at: new Date() })).toBe(false);
    expect((await profiles.startComputing(hub.deps.db, versionId, new Date())).started).toBe(false);
    const refused = await hub.deps.db.update(referenceProfiles).set({ sha256: 'f'.repeat(64) }).where(eq(referenceProfiles.modelVersionId, versionId)).catch((e: Error) => e);
    expect(String((refused as Error).cause)).toMatch(/reference profile of model version [0-9a-f-]{36} is immutable/);
    expect(await ensureReferenceProfile(hub.deps, versionId)).toEqual({ status: 'ready', profile });
  });

  it.skipIf(skip)('answers monitoring.profile by role and project, and starts the profile of a version published before profiles existed', async () => {
    const engineer = await hub.as('engineer');
    const ready = await engineer.monitoring.profile({ project: 'shop', model: 'tiny', version: 1 });
    expect(ready).toMatchObject({ status: 'ready', encoding: tiny.published.recommended, completedAt: expect.any(String) });
    expect(Object.keys(ready).sort()).toEqual(['completedAt', 'encoding', 'status', 'summary']);
    expect(ready.summary!.accuracy).toBeCloseTo(tiny.evaluation[tiny.published.recommended]!.accuracy, 9);

    await engineer.projects.create({ slug: 'other', labels: ['a', 'b'] });
    const ci = await hub.as('ci', { projects: ['shop'] });
    expect((await ci.monitoring.profile({ project: 'shop', model: 'tiny', version: 1 })).status).toBe('ready');
    expect(await refusal(ci.monitoring.profile({ project: 'other', model: 'tiny', version: 1 }))).toMatchObject({ code: 'FORBIDDEN' });
    expect(await refusal((await hub.as('labeler', { projects: ['shop'] })).monitoring.profile({ project: 'shop', model: 'tiny', version: 1 }))).toMatchObject({ code: 'FORBIDDEN' });
    expect(await refusal((await hub.as('device', { projects: ['shop'] })).monitoring.profile({ project: 'shop', model: 'tiny', version: 1 }))).toMatchObject({ code: 'FORBIDDEN' });
    expect(await refusal(engineer.monitoring.profile({ project: 'shop', model: 'tiny', version: 9 }))).toEqual({ code: 'NOT_FOUND', message: 'model "tiny" has no version 9' });
    expect(await refusal(engineer.monitoring.profile({ project: 'other', model: 'tiny', version: 1 }))).toEqual({ code: 'NOT_FOUND', message: 'project "other" has no registered model "tiny"' });
    expect(await refusal(engineer.monitoring.profile({ project: 'shop', model: 'tiny', version: 0 }))).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/^version: /) });

    // A version from before profiles: the first question starts it, asking again sends no second job.
    await publishedVersion(hub.deps, 'other', 'old', 1);
    const queued = await hub.deps.queue.getQueueSize(QUEUES.monitorProfile);
    expect(await engineer.monitoring.profile({ project: 'other', model: 'old', version: 1 })).toEqual({ status: 'computing' });
    expect(await engineer.monitoring.profile({ project: 'other', model: 'old', version: 1 })).toEqual({ status: 'computing' });
    expect(await hub.deps.queue.getQueueSize(QUEUES.monitorProfile)).toBe(queued + 1);
    // That fixture was never published to the store: the job fails it with what is missing, and no stack.
    const old = await models.findVersion(hub.deps.db, (await models.findModel(hub.deps.db, (await getProject(hub.deps, 'other')).id, 'old'))!.id, 1);
    expect(await computeReferenceProfile(hub.deps, old!.id)).toBe('failed');
    expect(await engineer.monitoring.profile({ project: 'other', model: 'old', version: 1 })).toEqual({
      status: 'failed',
      error: 'computing the profile failed: the published manifest cdn/other/old/v1/manifest.json is missing from the object store (details in the hub log)',
      completedAt: expect.any(String),
    });
  });

  it.skipIf(skip)('fails a model whose head is not one dense layer on the embedding, says why, and retries a failure an hour later', async () => {
    // embedding -> softmax: no dense head to recover logits from.
    const build = () => {
      const input = tf.input({ shape: [28, 28, 1] });
      const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
      const embedding = tf.layers.dense({ units: 10, activation: 'relu', name: 'embedding' }).apply(flat) as tf.SymbolicTensor;
      return tf.model({ inputs: input, outputs: tf.layers.softmax({ name: 'probabilities' }).apply(embedding) as tf.SymbolicTensor });
    };
    const headless = await publishTinyVersion(hub, { project: 'shop', model: 'headless', counts: COUNTS, build });
    const before = tf.memory().numTensors;
    expect(await computeReferenceProfile(hub.deps, headless.published.id)).toBe('failed');
    expect(tf.memory().numTensors).toBe(before);
    const engineer = await hub.as('engineer');
    const answer = await engineer.monitoring.profile({ project: 'shop', model: 'headless', version: 1 });
    expect(answer).toEqual({
      status: 'failed',
      error: 'the model does not end embedding -> dense -> softmax: its softmax probabilities (Softmax) follows embedding (Dense, relu), not a linear dense layer, so logits cannot be recovered from embeddings',
      encoding: headless.published.recommended,
      completedAt: expect.any(String),
    });
    expect(await ensureReferenceProfile(hub.deps, headless.published.id)).toEqual({ status: 'failed', error: answer.error });

    const now = hub.deps.now;
    hub.deps.now = () => new Date(Date.now() + FAILED_RETRY_MS + 60_000);
    try {
      expect(await engineer.monitoring.profile({ project: 'shop', model: 'headless', version: 1 })).toEqual({ status: 'computing' });
    } finally {
      hub.deps.now = now;
    }
    expect(await computeReferenceProfile(hub.deps, headless.published.id)).toBe('failed');
  });

  it.skipIf(skip)('computes a newly published version through the monitor.profile queue', async () => {
    const worker = await startReferenceProfileWorker(hub.deps, { name: 'test-profiles' });
    try {
      const second = await publishTinyVersion(hub, { project: 'queued', model: 'tiny', counts: COUNTS, seed: 5 });
      const engineer = await hub.as('engineer');
      const deadline = Date.now() + 120_000;
      let answer = await engineer.monitoring.profile({ project: 'queued', model: 'tiny', version: 1 });
      while (answer.status === 'computing' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        answer = await engineer.monitoring.profile({ project: 'queued', model: 'tiny', version: 1 });
      }
      expect(answer).toMatchObject({ status: 'ready' });
      expect(answer.summary!.accuracy).toBeCloseTo(second.evaluation[second.published.recommended]!.accuracy, 9);
    } finally {
      await worker.stop();
    }
  });
});

describe('the held-out data of a dataset version', () => {
  let hub: TestHub;
  let tiny: Awaited<ReturnType<typeof publishTinyVersion>>;
  beforeAll(async () => {
    hub = await createTestHub('pglite');
    tiny = await publishTinyVersion(hub, { project: 'shop', model: 'tiny', counts: COUNTS });
  });
  afterAll(() => hub?.close());

  it('takes only val and test items, samples each in proportion beyond the cap, and reads the same from training cache', async () => {
    const sample = loadFashionMnist(undefined, { valCount: COUNTS.val });
    const input = { project: 'shop', versionId: tiny.datasetVersionId, preprocessing: FASHION_PREPROCESSING, seed: 11 };
    const all = await loadHeldOutData(hub.deps, { ...input, maxItems: 5_000 }, () => {});
    expect([all.val.count, all.test.count, all.available, all.valHeldOutOfTrain]).toEqual([COUNTS.val, COUNTS.test, { val: COUNTS.val, test: COUNTS.test }, false]);
    // Manifest order is by sha256, not the sample's: compare as sets of (pixels, label).
    const key = (pixels: Uint8Array, label: number) => `${label}:${Buffer.from(pixels).toString('base64')}`;
    const keys = (set: typeof all.val) => Array.from({ length: set.count }, (_, i) => key(set.pixels.subarray(i * 784, (i + 1) * 784), set.labels[i]!)).sort();
    const expected = (set: typeof sample.val, n: number) => Array.from({ length: n }, (_, i) => key(set.pixels.subarray(i * 784, (i + 1) * 784), set.labels[i]!)).sort();
    expect(keys(all.val)).toEqual(expected(sample.val, COUNTS.val));
    expect(keys(all.test)).toEqual(expected(sample.test, COUNTS.test));

    const capped = await loadHeldOutData(hub.deps, { ...input, maxItems: 22 }, () => {});
    expect([capped.val.count, capped.test.count]).toEqual([Math.round((22 * COUNTS.val) / (COUNTS.val + COUNTS.test)), 22 - Math.round((22 * COUNTS.val) / (COUNTS.val + COUNTS.test))]);
    expect(keys(all.val)).toEqual(expect.arrayContaining(keys(capped.val)));
    expect(keys(all.test)).toEqual(expect.arrayContaining(keys(capped.test)));
    const again = await loadHeldOutData(hub.deps, { ...input, maxItems: 22 }, () => {});
    expect(keys(again.val)).toEqual(keys(capped.val));
    const otherSeed = await loadHeldOutData(hub.deps, { ...input, maxItems: 22, seed: 12 }, () => {});
    expect(keys(otherSeed.val)).not.toEqual(keys(capped.val));

    // Training decodes and caches every split; the held-out loader then reads its part of that cache.
    const logs: string[] = [];
    await loadTrainingData(hub.deps, { project: 'shop', versionId: tiny.datasetVersionId, preprocessing: FASHION_PREPROCESSING }, () => {});
    const cached = await loadHeldOutData(hub.deps, { ...input, maxItems: 22 }, (line) => logs.push(line));
    expect(logs.join('\n')).toMatch(/from the local cache/);
    expect([Buffer.from(cached.val.pixels), Buffer.from(cached.test.pixels), Array.from(cached.test.labels)]).toEqual([Buffer.from(capped.val.pixels), Buffer.from(capped.test.pixels), Array.from(capped.test.labels)]);
  });
});
