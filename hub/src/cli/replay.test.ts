import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { REVIEW_POLICY, embeddingFromBytes, inCanary, rolloutKey, modelManifestSchema, mulberry32, pixelsToModelInput, signedEnvelopeSchema } from '@edgeloop/shared';
import { eq, inArray, like } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishTinyModel } from '../../test/published-model';
import { storeProfile, syntheticProfile } from '../../test/synthetic-monitor';
import { DATABASES, type TestHub, createTestHub } from '../../test/test-hub';
import { corrections, modelVersions, predictions, registeredModels, reviewAssignments } from '../db/schema';
import { encodeGreyscalePng } from '../images/png';
import { decodeToPixels } from '../images/to-pixels';
import * as monitorStreams from '../monitoring/monitor-stream.repository';
import * as profiles from '../monitoring/reference-profile.repository';
import { processStream } from '../monitoring/monitor.service';
import { decideCanary, startCanary } from '../registry/channel.service';
import { getProject } from '../projects/project.service';
import { createHubServer, listen } from '../server';
import { remoteHub } from './remote-hub';
import { classifyBatch, classifyImage, loadReplayModel } from './replay-model';
import { derivedUuid, replay, type ReplayOptions, summaryLines } from './replay';

const LABELS = ['cat', 'dog', 'bird'];
const PER_LABEL = 4;
/** Images per label in the folder whose labels answer the review queue: 60 in all, more than one page of it. */
const REVIEWED_PER_LABEL = 20;

/** A greyscale PNG of seeded noise, 20 x 20 (the model takes 16 x 16: replay resizes as the hub does). */
function noisePng(seed: number): Buffer {
  const random = mulberry32(seed);
  return encodeGreyscalePng(Uint8Array.from({ length: 400 }, () => Math.floor(random() * 256)), 20, 20);
}

describe.each(DATABASES)('edgeloop replay on $kind', ({ kind, skip }) => {
  let hub: TestHub;
  let server: http.Server;
  let base: string;
  let version: number;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-replay-'));
  const labelled = path.join(tmp, 'labelled');
  const flat = path.join(tmp, 'flat');
  const reviewed = path.join(tmp, 'reviewed');

  const options = (overrides: Partial<ReplayOptions> = {}): ReplayOptions => ({
    project: 'pets',
    folder: labelled,
    model: 'tiny',
    channel: 'production',
    devices: 3,
    reviewRate: 0,
    session: 'replay',
    maxImages: 1000,
    ...overrides,
  });
  const as = async (role: 'device' | 'labeler' | 'engineer') => remoteHub({ hub: base, token: await hub.secretFor(role) });

  /**
   * The hub's monitor as its job runs it (processStream, which gives each event its review decision), past the
   * hold-back so nothing waits for it.
   */
  async function runMonitor(): Promise<void> {
    const project = await getProject(hub.deps, 'pets');
    const [row] = await hub.deps.db.select({ id: modelVersions.id }).from(modelVersions);
    const stream = await monitorStreams.getOrCreate(hub.deps.db, { projectId: project.id, modelVersionId: row!.id, channel: 'production' });
    for (;;) {
      const outcome = await processStream(hub.deps, stream.id, { now: new Date(Date.now() + 60_000) });
      if (outcome.status !== 'processed') throw new Error(`monitor: ${JSON.stringify(outcome)}`);
      if (!outcome.more) return;
    }
  }

  /** Runs `work` while the monitor runs every 200 ms, as the hub's job does after syncs. */
  async function whileMonitoring<T>(work: () => Promise<T>): Promise<T> {
    await runMonitor();
    let done = false;
    const loop = (async () => {
      while (!done) {
        await runMonitor();
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    try {
      return await work();
    } finally {
      done = true;
      await loop;
    }
  }

  beforeAll(async () => {
    if (skip) return;
    hub = await createTestHub(kind);
    await (await hub.as('engineer')).projects.create({ slug: 'pets', labels: LABELS });
    version = await publishTinyModel(hub.deps, { project: 'pets', model: 'tiny' });
    server = createHubServer(hub.deps, { webRoot: '/nonexistent' });
    const address: AddressInfo = await listen(server, 0, '127.0.0.1');
    base = `http://127.0.0.1:${address.port}`;
    LABELS.forEach((label, l) => {
      fs.mkdirSync(path.join(labelled, label), { recursive: true });
      for (let i = 0; i < PER_LABEL; i++) fs.writeFileSync(path.join(labelled, label, `${i}.png`), noisePng(l * 100 + i));
    });
    LABELS.forEach((label, l) => {
      fs.mkdirSync(path.join(reviewed, label), { recursive: true });
      for (let i = 0; i < REVIEWED_PER_LABEL; i++) fs.writeFileSync(path.join(reviewed, label, `${i}.png`), noisePng(5000 + l * 100 + i));
    });
    // A ready profile of the model's labels and embedding size, so the monitor processes its events.
    const [row] = await hub.deps.db.select({ id: modelVersions.id }).from(modelVersions);
    const loaded = await loadReplayModel(await as('device'), base, { project: 'pets', model: 'tiny', channel: 'production' });
    const embeddingSize = (await classifyImage(loaded, new Uint8Array(16 * 16))).embedding.length;
    loaded.dispose();
    await storeProfile(hub.deps, row!.id, syntheticProfile(7, {}, { labels: LABELS, dim: embeddingSize }));
    fs.mkdirSync(flat);
    for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(flat, `image-${i}.png`), noisePng(1000 + i));
    fs.writeFileSync(path.join(flat, 'notes.txt'), 'not an image');
  });
  afterAll(async () => {
    server?.closeAllConnections();
    server?.close();
    await hub?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it.skipIf(skip)('stores one prediction per image, with the embedding the published model gives, spread over n devices; a rerun is a no-op', async () => {
    const device = await as('device');
    const summary = await replay(device, base, options());
    expect(summary).toMatchObject({ version, images: 12, unreadable: 0, labelled: true, devices: 3, reviews: null });
    expect(summary.predictions).toMatchObject({ sent: 12, inserted: 12, duplicates: 0, rejected: 0 });
    expect(summary.imagesPerSecond).toBeGreaterThan(0);

    // The reference: the published files loaded by tfjs itself from the CDN, on pixels the hub decodes.
    const [row] = await hub.deps.db.select().from(modelVersions);
    const manifest = modelManifestSchema.parse(JSON.parse(signedEnvelopeSchema.parse(JSON.parse(new TextDecoder().decode((await hub.deps.store.get(row!.manifestKey))!))).payload));
    const dir = row!.manifestKey.slice(0, row!.manifestKey.lastIndexOf('/') + 1);
    const variant = manifest.variants.find((v) => v.format === manifest.recommended)!;
    const reference = await tf.loadLayersModel(`${base}/cdn/${dir.slice('cdn/'.length)}${variant.modelJson.path}`);
    const withEmbedding = tf.model({ inputs: reference.inputs, outputs: [reference.outputs[0]!, reference.getLayer(manifest.embeddingLayer).output as tf.SymbolicTensor] });

    const stored = await hub.deps.db.select().from(predictions);
    expect(stored).toHaveLength(12);
    // Listed in name order (label folder, then file): image i is device (i mod 3) + 1's.
    const files = [...LABELS].sort().flatMap((label) => Array.from({ length: PER_LABEL }, (_, i) => `${label}/${i}.png`));
    let correct = 0;
    const perDevice = new Map<string, number>();
    for (const [index, relative] of files.entries()) {
      const pixels = await decodeToPixels(fs.readFileSync(path.join(labelled, relative)), { height: 16, width: 16, channels: 1 });
      const [probabilities, embedding] = withEmbedding.predict(tf.tensor4d(pixelsToModelInput(pixels, 1, manifest.preprocessing), [1, 16, 16, 1])) as tf.Tensor[];
      const expected = Array.from(embedding!.dataSync());
      const probs = Array.from(probabilities!.dataSync());
      const top = manifest.labels[probs.indexOf(Math.max(...probs))]!;
      // Which stored row is this image's: the one whose embedding matches (ids are hashes, not positions).
      const match = stored.filter((p) => {
        const got = embeddingFromBytes(p.embedding);
        return got.length === expected.length && expected.every((v, k) => Math.abs(v - got[k]!) <= 1e-5 * Math.max(1, Math.abs(v)));
      });
      expect(match, relative).toHaveLength(1);
      const prediction = match[0]!;
      expect(prediction).toMatchObject({ label: top, channel: 'production', appVersion: 'replay', backend: summary.backend, source: 'file', deviceId: `replay-${(index % 3) + 1}` });
      expect(prediction.confidence).toBeCloseTo(Math.max(...probs), 5);
      expect(prediction.topK).toHaveLength(3);
      perDevice.set(prediction.deviceId!, (perDevice.get(prediction.deviceId!) ?? 0) + 1);
      if (top === relative.split('/')[0]) correct++;
    }
    expect(Object.fromEntries(perDevice)).toEqual({ 'replay-1': 4, 'replay-2': 4, 'replay-3': 4 });
    expect(summary.accuracy).toBeCloseTo(correct / 12, 10);
    reference.dispose();

    // A batch through the model gives what one image at a time gives.
    const loaded = await loadReplayModel(device, base, { project: 'pets', model: 'tiny', channel: 'production' });
    const decoded = await Promise.all(files.map(async (relative) => decodeToPixels(fs.readFileSync(path.join(labelled, relative)), { height: 16, width: 16, channels: 1 })));
    const batch = await classifyBatch(loaded, decoded);
    for (const [i, pixels] of decoded.entries()) {
      const one = await classifyImage(loaded, pixels);
      expect(batch[i]!.top.map((t) => t.label)).toEqual(one.top.map((t) => t.label));
      batch[i]!.embedding.forEach((v, k) => expect(v).toBeCloseTo(one.embedding[k]!, 5));
    }
    loaded.dispose();

    const again = await replay(device, base, options());
    expect(again.predictions).toMatchObject({ sent: 12, inserted: 0, duplicates: 12, rejected: 0 });
    expect(await hub.deps.db.$count(predictions)).toBe(12);
    // Another session is another set of devices: new events.
    const other = await replay(device, base, options({ session: 'load-2', devices: 2 }));
    expect(other.predictions).toMatchObject({ inserted: 12, duplicates: 0 });
    expect(await hub.deps.db.$count(predictions)).toBe(24);
  });

  it.skipIf(skip)(
    "with --review-rate sets the project's rate and answers the hub's review queue with the folder's labels; needs an engineer or admin token",
    { timeout: 120_000 },
    async () => {
      // Every event queued (π = r = 1 with a uniform share of 1): more than one page of the queue (50) to answer.
      const reviewOptions = options({ folder: reviewed, session: 'reviewed', reviewRate: 1 });
      await (await hub.as('engineer')).monitoring.settings.set({ project: 'pets', uniformShare: 1 });
      for (const role of ['device', 'labeler'] as const) {
        await expect(replay(await as(role), base, reviewOptions)).rejects.toThrow(
          `--review-rate sets the project's review rate, which needs an engineer or admin token; this is a ${role} token ("test-${role}")`,
        );
      }
      expect(await hub.deps.db.$count(predictions, like(predictions.deviceId, 'reviewed-%'))).toBe(0);

      const engineer = await as('engineer');
      const summary = await whileMonitoring(() => replay(engineer, base, reviewOptions));
      expect(summary.predictions).toMatchObject({ sent: 60, inserted: 60, rejected: 0 });
      expect((await engineer.monitoring.settings.get.query({ project: 'pets' })).reviewRate).toBe(1);

      // What the policy queued for the replayed predictions, and what each image's folder label is.
      const replayed = await hub.deps.db.select({ id: predictions.id, deviceId: predictions.deviceId }).from(predictions).where(like(predictions.deviceId, 'reviewed-%'));
      expect(replayed).toHaveLength(60);
      const assigned = await hub.deps.db.select().from(reviewAssignments).where(inArray(reviewAssignments.predictionId, replayed.map((p) => p.id)));
      expect(assigned).toHaveLength(60);
      const labelOf = new Map<string, string>();
      // Listed as replay lists them: label folder, then file name, in code-point order (10.png before 2.png).
      const files = [...LABELS].sort().flatMap((label) => Array.from({ length: REVIEWED_PER_LABEL }, (_, i) => `${i}.png`).sort().map((name) => `${label}/${name}`));
      for (const [index, relative] of files.entries()) {
        const pixels = await decodeToPixels(fs.readFileSync(path.join(reviewed, relative)), { height: 16, width: 16, channels: 1 });
        const sha256 = crypto.createHash('sha256').update(pixels).digest('hex');
        labelOf.set(derivedUuid('prediction', 'reviewed', 'pets', 'tiny', String(version), 'production', `reviewed-${(index % 3) + 1}`, relative, sha256), relative.split('/')[0]!);
      }
      expect(replayed.every((p) => labelOf.has(p.id))).toBe(true);

      const answers = await hub.deps.db.select().from(corrections).where(inArray(corrections.predictionId, replayed.map((p) => p.id)));
      expect(answers).toHaveLength(assigned.length);
      expect(new Set(answers.map((c) => c.assignmentId))).toEqual(new Set(assigned.map((a) => a.id)));
      for (const answer of answers) expect(answer.label).toBe(labelOf.get(answer.predictionId));
      const components = { uniform: assigned.filter((a) => a.component === 'uniform').length, uncertainty: assigned.filter((a) => a.component === 'uncertainty').length };
      expect(summary.reviews).toMatchObject({
        reviewRate: 1,
        previousReviewRate: 0.05,
        policy: REVIEW_POLICY,
        asked: assigned.length,
        components,
        sent: assigned.length,
        inserted: assigned.length,
        duplicates: 0,
        rejected: 0,
        monitor: { expected: 60, processed: 60, caughtUp: true, stalled: null },
      });
      expect(components).toEqual({ uniform: 60, uncertainty: 0 });
      const lines = summaryLines(summary, reviewOptions);
      expect(lines).toContain('review rate of "pets": 100% (was 5%)');
      expect(lines).toContain(
        `reviews (policy ${REVIEW_POLICY}): ${assigned.length} asked by the hub's queue (${components.uniform} uniform, ${components.uncertainty} uncertainty), answered with the folder's labels: ${assigned.length} sent, ${assigned.length} inserted, 0 duplicates, 0 rejected`,
      );
      expect(lines[0]).toBe(`pets/tiny v${version} (production) on ${summary.backend}: 60 images classified by 3 devices`);

      // A rerun: every prediction a duplicate, nothing new to process, nothing left in the queue to answer.
      const before = await hub.deps.db.$count(corrections);
      const again = await whileMonitoring(() => replay(engineer, base, reviewOptions));
      expect(again.predictions).toMatchObject({ sent: 60, inserted: 0, duplicates: 60 });
      expect(again.reviews).toMatchObject({ asked: 0, sent: 0, monitor: { expected: 0, caughtUp: true } });
      expect(await hub.deps.db.$count(corrections)).toBe(before);
      await (await hub.as('engineer')).monitoring.settings.set({ project: 'pets', uniformShare: 0.35 });
    },
  );

  it.skipIf(skip)('with a monitor that does not catch up in --review-timeout, answers what is queued and says to run again; the rerun answers the rest', { timeout: 60_000 }, async () => {
    const engineer = await as('engineer');
    const lateOptions = options({ folder: reviewed, session: 'late-reviews', reviewRate: 0.5, reviewTimeoutSeconds: 1 });
    const late = await replay(engineer, base, lateOptions);
    expect(late.reviews).toMatchObject({ asked: 0, sent: 0, monitor: { expected: 60, processed: 0, caughtUp: false, stalled: null } });
    expect(summaryLines(late, lateOptions)).toContain(
      'hub monitor: processed 0 of the 60 new events in ' + late.reviews!.monitor.seconds.toFixed(1) + " s (--review-timeout); run the same command again later to answer the rest of its queue",
    );
    // Again from the command line, while the monitor runs in this process and the command in another.
    const cli = await whileMonitoring(async () =>
      promisify(execFile)(
        process.execPath,
        [path.join(import.meta.dirname, '../../bin/edgeloop.js'), 'replay', 'pets', reviewed, '--model', 'tiny', '--devices', '3', '--session', 'late-reviews', '--review-rate', '0.5', '--review-timeout', '1'],
        { env: { ...process.env, EDGELOOP_HUB_URL: base, EDGELOOP_TOKEN: await hub.secretFor('engineer') } },
      ),
    );
    const replayed = await hub.deps.db.select({ id: predictions.id }).from(predictions).where(like(predictions.deviceId, 'late-reviews-%'));
    const assigned = await hub.deps.db.select({ component: reviewAssignments.component }).from(reviewAssignments).where(inArray(reviewAssignments.predictionId, replayed.map((p) => p.id)));
    expect(assigned.length).toBeGreaterThan(0);
    const uniform = assigned.filter((a) => a.component === 'uniform').length;
    const lines = cli.stdout.trimEnd().split('\n');
    expect(lines.slice(1, 5)).toEqual([
      'predictions: 60 sent, 0 inserted, 60 duplicates, 0 rejected',
      'review rate of "pets": 50% (was 50%)',
      'hub monitor: no new events to wait for (the hub held every prediction already)',
      `reviews (policy ${REVIEW_POLICY}): ${assigned.length} asked by the hub's queue (${uniform} uniform, ${assigned.length - uniform} uncertainty), answered with the folder's labels: ${assigned.length} sent, ${assigned.length} inserted, 0 duplicates, 0 rejected`,
    ]);
  });

  it.skipIf(skip)('a flat folder works from the command line: no labels, no accuracy, unreadable files named', async () => {
    const cli = promisify(execFile)(process.execPath, [path.join(import.meta.dirname, '../../bin/edgeloop.js'), 'replay', 'pets', flat, '--json', '--review-rate', '0.5'], {
      env: { ...process.env, EDGELOOP_HUB_URL: base, EDGELOOP_TOKEN: await hub.secretFor('engineer') },
    });
    const summary = JSON.parse((await cli).stdout);
    expect(summary).toMatchObject({ model: 'tiny', labelled: false, images: 5, accuracy: null, unreadable: 1, devices: 1, reviews: null });
    expect(summary.unreadableFiles).toEqual([{ file: 'notes.txt', reason: expect.stringContaining('notes.txt is not a decodable PNG, JPEG or WebP image') }]);
    expect(summary.predictions).toMatchObject({ sent: 5, inserted: 5 });

    const bad = promisify(execFile)(process.execPath, [path.join(import.meta.dirname, '../../bin/edgeloop.js'), 'replay', 'pets', flat, '--devices', '0', '--model', 'tiny'], {
      env: { ...process.env, EDGELOOP_HUB_URL: base, EDGELOOP_TOKEN: 'x' },
    });
    await expect(bad).rejects.toMatchObject({ stderr: 'edgeloop: --devices must be at least 1\n' });
    const short = promisify(execFile)(process.execPath, [path.join(import.meta.dirname, '../../bin/edgeloop.js'), 'replay', 'pets', flat, '--session', 'abc', '--model', 'tiny'], {
      env: { ...process.env, EDGELOOP_HUB_URL: base, EDGELOOP_TOKEN: 'x' },
    });
    await expect(short).rejects.toMatchObject({ stderr: 'edgeloop: --session must be 6-32 characters of a-z, 0-9 and -, starting with a letter or digit\n' });
  });

  it.skipIf(skip)('refuses a tampered shard or manifest, and a folder whose sub-folders are not labels', async () => {
    const device = await as('device');
    const [row] = await hub.deps.db.select().from(modelVersions);
    const manifestBytes = (await hub.deps.store.get(row!.manifestKey))!;
    const manifest = modelManifestSchema.parse(JSON.parse(signedEnvelopeSchema.parse(JSON.parse(new TextDecoder().decode(manifestBytes))).payload));
    const dir = row!.manifestKey.slice(0, row!.manifestKey.lastIndexOf('/') + 1);
    const shard = manifest.variants.find((v) => v.format === manifest.recommended)!.shards[0]!;
    const shardBytes = (await hub.deps.store.get(dir + shard.path))!;

    const tampered = Uint8Array.from(shardBytes);
    tampered[0] = tampered[0]! ^ 0xff;
    await hub.deps.store.put(dir + shard.path, tampered, { contentType: 'application/octet-stream' });
    await expect(replay(device, base, options({ session: 'tampered' }))).rejects.toThrow(`${shard.path} does not match the signed manifest`);
    await hub.deps.store.put(dir + shard.path, shardBytes, { contentType: 'application/octet-stream' });

    const edited = new TextDecoder().decode(manifestBytes).replace('\\"scale\\":1', '\\"scale\\":2');
    expect(edited).not.toBe(new TextDecoder().decode(manifestBytes));
    await hub.deps.store.put(row!.manifestKey, new TextEncoder().encode(edited), { contentType: 'application/json' });
    await expect(replay(device, base, options({ session: 'tampered' }))).rejects.toThrow(/^manifest of v1: sha256 [0-9a-f]{12}… is not the one the channel pointer names$/);
    await hub.deps.store.put(row!.manifestKey, manifestBytes, { contentType: 'application/json' });
    expect(await hub.deps.db.select().from(predictions).where(eq(predictions.deviceId, 'tampered-1'))).toEqual([]);

    const wrong = path.join(tmp, 'wrong');
    fs.mkdirSync(path.join(wrong, 'horse'), { recursive: true });
    await expect(replay(device, base, options({ folder: wrong }))).rejects.toThrow(`${path.join(wrong, 'horse')}: not a label of the model; sub-folders must be named after its labels: cat, dog, bird`);
  });

  it.skipIf(skip)('stops waiting at once when the model version has a failed profile (the monitor cannot process it), and says so', async () => {
    // Another model, its profile failed: the monitor never processes its events.
    await publishTinyModel(hub.deps, { project: 'pets', model: 'unprofiled', seed: 2 });
    const [row] = await hub.deps.db.select({ id: modelVersions.id }).from(modelVersions).innerJoin(registeredModels, eq(registeredModels.id, modelVersions.modelId)).where(eq(registeredModels.name, 'unprofiled'));
    await profiles.startComputing(hub.deps.db, row!.id, new Date());
    await profiles.markFailed(hub.deps.db, row!.id, { error: 'no test split', encoding: null, at: new Date() });
    const stalledOptions = options({ model: 'unprofiled', folder: labelled, session: 'unprofiled', reviewRate: 0.5, reviewTimeoutSeconds: 60 });
    const summary = await replay(await as('engineer'), base, stalledOptions);
    const stalled = 'the reference profile of unprofiled v1 failed (no test split), so the hub\'s monitor does not process its events';
    expect(summary.reviews).toMatchObject({ asked: 0, sent: 0, monitor: { expected: 12, processed: 0, caughtUp: false, stalled } });
    expect(summary.reviews!.monitor.seconds).toBeLessThan(30);
    expect(summaryLines(summary, stalledOptions)).toContain(
      `hub monitor: processed 0 of the 12 new events in ${summary.reviews!.monitor.seconds.toFixed(1)} s: ${stalled}; run the same command again later to answer the rest of its queue`,
    );
  });
  it.skipIf(skip)("plays a channel's canary: each device whose id falls in the pointer's share runs the candidate, the others the current version", async () => {
    const candidate = await publishTinyModel(hub.deps, { project: 'pets', model: 'tiny', channel: 'staging', seed: 3 });
    const engineer = { tokenId: null, name: 'test-engineer', role: 'engineer' as const, projects: null };
    const production = { project: 'pets', model: 'tiny', channel: 'production' };
    await startCanary(hub.deps, engineer, { ...production, version: candidate, share: 0.5, reason: 'replay test' });
    try {
      await replay(await as('device'), base, options({ session: 'canary', devices: 8 }));
      const rows = await hub.deps.db
        .select({ deviceId: predictions.deviceId, version: modelVersions.version })
        .from(predictions)
        .innerJoin(modelVersions, eq(modelVersions.id, predictions.modelVersionId))
        .where(like(predictions.deviceId, 'canary-%'));
      expect(rows).toHaveLength(12);
      const key = rolloutKey('pets', 'tiny', 'production', candidate);
      for (const row of rows) expect(row.version, row.deviceId!).toBe(inCanary(row.deviceId!, key, 0.5) ? candidate : version);
      // Both groups took part (8 devices, the share half of them).
      expect(new Set(rows.map((r) => r.version))).toEqual(new Set([version, candidate]));
    } finally {
      await decideCanary(hub.deps, engineer, { ...production, decision: 'abort', reason: 'end of the replay test' });
    }
  });
});
