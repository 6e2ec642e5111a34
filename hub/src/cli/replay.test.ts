import { execFile } from 'node:child_process';
import fs from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { embeddingFromBytes, modelManifestSchema, mulberry32, pixelsToModelInput, signedEnvelopeSchema } from '@edgeloop/shared';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishTinyModel } from '../../test/published-model';
import { DATABASES, type TestHub, createTestHub } from '../../test/test-hub';
import { corrections, modelVersions, predictions } from '../db/schema';
import { encodeGreyscalePng } from '../images/png';
import { decodeToPixels } from '../images/to-pixels';
import { createHubServer, listen } from '../server';
import { remoteHub } from './remote-hub';
import { UNIFORM_REVIEW_POLICY, replay, type ReplayOptions } from './replay';

const LABELS = ['cat', 'dog', 'bird'];
const PER_LABEL = 4;

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

  const options = (overrides: Partial<ReplayOptions> = {}): ReplayOptions => ({
    project: 'pets',
    folder: labelled,
    model: 'tiny',
    channel: 'production',
    devices: 3,
    reviewRate: 0,
    seed: 1,
    session: 'replay',
    maxImages: 1000,
    ...overrides,
  });
  const as = async (role: 'device' | 'labeler' | 'engineer') => remoteHub({ hub: base, token: await hub.secretFor(role) });

  beforeAll(async () => {
    if (skip) return;
    hub = await createTestHub(kind);
    await (await hub.as('engineer')).projects.create({ slug: 'pets', labels: LABELS });
    version = await publishTinyModel(hub, { project: 'pets', model: 'tiny' });
    server = createHubServer(hub.deps, { webRoot: '/nonexistent' });
    const address: AddressInfo = await listen(server, 0, '127.0.0.1');
    base = `http://127.0.0.1:${address.port}`;
    LABELS.forEach((label, l) => {
      fs.mkdirSync(path.join(labelled, label), { recursive: true });
      for (let i = 0; i < PER_LABEL; i++) fs.writeFileSync(path.join(labelled, label, `${i}.png`), noisePng(l * 100 + i));
    });
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
    expect(summary).toMatchObject({ version, images: 12, unreadable: 0, labelled: true, devices: 3, reviews: { sent: 0, policy: null } });
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

    const again = await replay(device, base, options());
    expect(again.predictions).toMatchObject({ sent: 12, inserted: 0, duplicates: 12, rejected: 0 });
    expect(await hub.deps.db.$count(predictions)).toBe(12);
    // Another session is another set of devices: new events.
    const other = await replay(device, base, options({ session: 'load-2', devices: 2 }));
    expect(other.predictions).toMatchObject({ inserted: 12, duplicates: 0 });
    expect(await hub.deps.db.$count(predictions)).toBe(24);
  });

  it.skipIf(skip)('with --review-rate sends the folder labels for that share of predictions, says which policy chose them, and needs a token that may label', async () => {
    await expect(replay(await as('device'), base, options({ session: 'reviewed', reviewRate: 0.5 }))).rejects.toThrow(
      '--review-rate sends the folder\'s labels as reviews, which needs a labeler, engineer or admin token; this is a device token ("test-device")',
    );
    const before = await hub.deps.db.$count(corrections);
    const summary = await replay(await as('labeler'), base, options({ session: 'reviewed', reviewRate: 0.5 }));
    expect(summary.reviews).toMatchObject({ sent: 6, inserted: 6, duplicates: 0, rejected: 0, policy: UNIFORM_REVIEW_POLICY });
    const stored = await hub.deps.db.select({ label: corrections.label, deviceId: predictions.deviceId }).from(corrections).innerJoin(predictions, eq(corrections.predictionId, predictions.id));
    expect(stored).toHaveLength(before + 6);
    expect(stored.every((c) => c.deviceId?.startsWith('reviewed-'))).toBe(true);
    // The same seed chooses the same predictions: a rerun sends duplicates only.
    const again = await replay(await as('labeler'), base, options({ session: 'reviewed', reviewRate: 0.5 }));
    expect(again.reviews).toMatchObject({ sent: 6, inserted: 0, duplicates: 6 });
  });

  it.skipIf(skip)('a flat folder works from the command line: no labels, no accuracy, unreadable files named', async () => {
    const cli = promisify(execFile)(process.execPath, [path.join(import.meta.dirname, '../../bin/edgeloop.js'), 'replay', 'pets', flat, '--json', '--review-rate', '0.5'], {
      env: { ...process.env, EDGELOOP_HUB_URL: base, EDGELOOP_TOKEN: await hub.secretFor('engineer') },
    });
    const summary = JSON.parse((await cli).stdout);
    expect(summary).toMatchObject({ model: 'tiny', labelled: false, images: 5, accuracy: null, unreadable: 1, devices: 1, reviews: { sent: 0, policy: null } });
    expect(summary.unreadableFiles).toEqual([{ file: 'notes.txt', reason: expect.stringContaining('notes.txt is not a decodable PNG, JPEG or WebP image') }]);
    expect(summary.predictions).toMatchObject({ sent: 5, inserted: 5 });

    const bad = promisify(execFile)(process.execPath, [path.join(import.meta.dirname, '../../bin/edgeloop.js'), 'replay', 'pets', flat, '--devices', '0', '--model', 'tiny'], {
      env: { ...process.env, EDGELOOP_HUB_URL: base, EDGELOOP_TOKEN: 'x' },
    });
    await expect(bad).rejects.toMatchObject({ stderr: 'edgeloop: --devices must be at least 1\n' });
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
});
