import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { eq } from 'drizzle-orm';
import { modelVersions } from '../db/schema';
import { FASHION_MNIST_LABELS } from '../demo';
import { IMMUTABLE_CACHE_CONTROL, POINTER_CACHE_CONTROL, channelPointerSchema, modelManifestSchema, pixelsToModelInput, signedEnvelopeSchema } from '@edgeloop/shared';
import { loadFashionMnist } from '@edgeloop/training/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestHub, createTestHub } from '../../test/test-hub';
import { fashionSampleVersion, waitForRun } from '../../test/training-helpers';
import { encodeGreyscalePng } from '../images/png';
import { createHubServer, listen } from '../server';
import { type TrainingWorker, startTrainingWorker } from '../training/training-worker';
import { verifyEnvelope } from './signing';

describe('train through the queue, publish, promote, load with tf.loadLayersModel, from the API and the CLI', () => {
  let hub: TestHub;
  let worker: TrainingWorker;
  let server: http.Server;
  let base: string;
  let versionId: string;
  let firstRunId: string;

  beforeAll(async () => {
    hub = await createTestHub('pglite');
    worker = await startTrainingWorker(hub.deps, { name: 'test-worker' });
    versionId = await fashionSampleVersion(hub);
    server = createHubServer(hub.deps, { webRoot: '/nonexistent' });
    const address: AddressInfo = await listen(server, 0, '127.0.0.1');
    base = `http://127.0.0.1:${address.port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    server?.close();
    await worker?.stop();
    await hub?.close();
  });

  it('runs the whole path and the published model predicts like the run evaluated it', async () => {
    const engineer = await hub.as('engineer');
    const ci = await hub.as('ci');
    const queued = await ci.runs.create({ project: 'fashion', datasetVersion: versionId.slice(0, 12), train: { epochs: 2, batchSize: 64, seed: 7 } });
    expect(queued.status).toBe('queued');
    const run = await waitForRun(hub, queued.id, ['succeeded', 'failed']);
    expect(run.error).toBeNull();
    expect(run.status).toBe('succeeded');

    // Tracking: params, per-epoch metrics, lineage, evaluation, logs.
    expect(run.train).toMatchObject({ epochs: 2, batchSize: 64, seed: 7 });
    expect(run.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    expect(run.epochs[1]!.loss).toBeLessThan(run.epochs[0]!.loss);
    expect(run.lineage).toMatchObject({ datasetVersionId: versionId, seed: 7, backend: 'wasm', worker: 'test-worker', requestedBy: 'test-ci' });
    const evaluation = run.evaluation as Record<string, { accuracy: number; confusion: number[][]; perClass: unknown[]; ece: number }>;
    expect(evaluation.float32!.accuracy).toBeGreaterThan(0.6);
    expect(evaluation.float32!.confusion.flat().reduce((a, b) => a + b, 0)).toBe(500);
    expect(evaluation.float32!.perClass).toHaveLength(10);
    expect(run.metrics.testAccuracy).toBe(evaluation.float32!.accuracy);
    expect(run.logs.some((l) => l.line.includes('epoch 2'))).toBe(true);

    const published = await ci.registry.publish({ runId: run.id, model: 'fashion-cnn' });
    expect(published.version).toBe(1);
    expect(published.gate.map((g) => g.format)).toEqual(['float32', 'float16', 'uint8']);
    const refused = await hub.deps.db.update(modelVersions).set({ recommended: 'float32' }).where(eq(modelVersions.id, published.id)).catch((e: Error) => e);
    expect(String((refused as Error).cause)).toMatch(/model version [0-9a-f-]{36} is immutable/);
    await ci.registry.promote({ project: 'fashion', model: 'fashion-cnn', channel: 'production', version: 1, reason: 'first model' });

    // A device: pointer -> signature -> manifest -> every file's sha256 -> plain tf.loadLayersModel(url).
    const { publicKey } = await hub.anonymous().registry.publicKey();
    const channel = await (await hub.as('device')).registry.channel({ project: 'fashion', model: 'fashion-cnn' });
    const pointerResponse = await fetch(base + channel.pointerUrl);
    expect(pointerResponse.headers.get('cache-control')).toBe(POINTER_CACHE_CONTROL);
    const pointerEnvelope = signedEnvelopeSchema.parse(await pointerResponse.json());
    expect(verifyEnvelope(publicKey, pointerEnvelope)).toBe(true);
    const pointer = channelPointerSchema.parse(JSON.parse(pointerEnvelope.payload));
    expect(pointer).toMatchObject({ channel: 'production', version: 1 });
    const modelBase = new URL(pointer.manifestPath, base + channel.pointerUrl).href;
    const manifestResponse = await fetch(modelBase);
    expect(manifestResponse.headers.get('cache-control')).toBe(IMMUTABLE_CACHE_CONTROL);
    const manifestEnvelope = signedEnvelopeSchema.parse(await manifestResponse.json());
    expect(verifyEnvelope(publicKey, manifestEnvelope)).toBe(true);
    expect(verifyEnvelope(publicKey, { ...manifestEnvelope, payload: manifestEnvelope.payload.replace('"version":1', '"version":9') })).toBe(false);
    const manifest = modelManifestSchema.parse(JSON.parse(manifestEnvelope.payload));
    expect(manifest.recommended).toBe('uint8');
    const sizes = Object.fromEntries(manifest.variants.map((v) => [v.format, v.shards.reduce((n, s) => n + s.bytes, 0)]));
    expect(sizes.uint8! / sizes.float32!).toBeLessThanOrEqual(0.26);

    const uint8 = manifest.variants.find((v) => v.format === 'uint8')!;
    for (const file of [uint8.modelJson, ...uint8.shards]) {
      const bytes = new Uint8Array(await (await fetch(new URL(file.path, modelBase))).arrayBuffer());
      expect(crypto.createHash('sha256').update(bytes).digest('hex'), file.path).toBe(file.sha256);
    }
    const model = await tf.loadLayersModel(new URL(uint8.modelJson.path, modelBase).href);
    const test = loadFashionMnist().test;
    const input = new Float32Array(test.count * 784);
    for (let i = 0; i < test.count; i++) pixelsToModelInput(test.pixels.subarray(i * 784, (i + 1) * 784), 1, manifest.preprocessing, input.subarray(i * 784, (i + 1) * 784));
    const x = tf.tensor4d(input, [test.count, 28, 28, 1]);
    const predicted = (model.predict(x) as tf.Tensor2D).argMax(1).dataSync();
    const correct = predicted.filter((p, i) => p === test.labels[i]).length;
    expect(correct / test.count).toBeCloseTo(uint8.accuracy, 5);
    tf.dispose(x);
    model.dispose();

    // Server-side predict gives the same class as the device would.
    const png = encodeGreyscalePng(test.pixels.subarray(0, 784), 28, 28);
    const served = await (await hub.as('device')).registry.predict({ project: 'fashion', model: 'fashion-cnn', imageBase64: Buffer.from(png).toString('base64'), topK: 3 });
    expect(served.top).toHaveLength(3);
    expect(served.top[0]!.label).toBe(FASHION_MNIST_LABELS[predicted[0]!]);

    // Publishing the same run again made an identical v2 without a word; it answers with the version it already made.
    const again = await engineer.registry.publish({ runId: run.id, model: 'fashion-cnn' });
    expect(again).toMatchObject({ id: published.id, version: 1, existing: true, manifestUrl: published.manifestUrl });
    expect(again.gate.map((g) => [g.format, g.published])).toEqual(published.gate.map((g) => [g.format, g.published]));
    expect((await engineer.registry.versions({ project: 'fashion', model: 'fashion-cnn' })).versions.map((v) => v.version)).toEqual([1]);
    firstRunId = run.id;
  });

  it('refuses bad configs with the field and its valid values, and cancels a running run', async () => {
    const engineer = await hub.as('engineer');
    await expect(engineer.runs.create({ project: 'fashion', datasetVersion: versionId, model: { architecture: 'resnet' } })).rejects.toThrow(/architecture must be one of: reference-cnn, mobilenet/);
    await expect(engineer.runs.create({ project: 'fashion', datasetVersion: versionId, train: { backend: 'tpu' } })).rejects.toThrow(/backend must be one of: auto, tensorflow, webgpu, wasm, cpu/);
    const long = await engineer.runs.create({ project: 'fashion', datasetVersion: versionId, train: { epochs: 200 } });
    await waitForRun(hub, long.id, ['running']);
    await engineer.runs.cancel({ runId: long.id });
    const cancelled = await waitForRun(hub, long.id, ['cancelled', 'failed', 'succeeded']);
    expect(cancelled.status).toBe('cancelled');
    await expect(engineer.runs.cancel({ runId: long.id })).rejects.toThrow(/already cancelled/);
  });

  it('edgeloop publish, as CI runs it: trains, publishes and promotes with a ci token, and refuses without one', async () => {
    const cli = (args: string[], token?: string) =>
      promisify(execFile)(process.execPath, [path.join(import.meta.dirname, '../../bin/edgeloop.js'), ...args], {
        env: { ...process.env, EDGELOOP_HUB_URL: base, EDGELOOP_TOKEN: token ?? '' },
      });
    const token = await hub.secretFor('ci');
    const { stdout } = await cli(['publish', 'fashion', '--model', 'cli-cnn', '--epochs', '1', '--promote', 'production', '--reason', 'nightly'], token);
    expect(stdout.trim()).toBe('1');
    const channel = await (await hub.as('device')).registry.channel({ project: 'fashion', model: 'cli-cnn' });
    expect(channel).toMatchObject({ version: { version: 1 }, movedBy: 'test-ci' });

    await expect(cli(['rollback', 'fashion', 'cli-cnn', '--reason', 'no'], token)).rejects.toMatchObject({ stderr: expect.stringMatching(/not allowed|FORBIDDEN|role/i) });

    // The same run again is not a new version; another run is v2.
    const run = channel.version.runId;
    const again = await cli(['publish', 'fashion', '--model', 'cli-cnn', '--run', run], token);
    expect([again.stdout.trim(), again.stderr]).toEqual(['1', expect.stringContaining(`run ${run} is already published as v1`)]);
    const second = await cli(['publish', 'fashion', '--model', 'cli-cnn', '--run', firstRunId, '--promote', 'production', '--reason', 'better'], token);
    expect(second.stdout.trim()).toBe('2');

    // A rollback names its target and moves only with --yes; the history says who and why.
    const engineerToken = await hub.secretFor('engineer');
    await expect(cli(['rollback', 'fashion', 'cli-cnn', '--reason', 'v2 regressed'], engineerToken)).rejects.toMatchObject({
      stderr: expect.stringContaining('a rollback would move production of fashion/cli-cnn from v2 to v1; run again with --yes'),
    });
    const back = await cli(['rollback', 'fashion', 'cli-cnn', '--reason', 'v2 regressed', '--yes'], engineerToken);
    expect([back.stdout.trim(), back.stderr]).toEqual(['production -> v1', expect.stringContaining('rolling back production from v2 to v1')]);
    const history = await (await hub.as('engineer')).registry.versions({ project: 'fashion', model: 'cli-cnn' });
    expect(history.channels).toEqual([expect.objectContaining({ name: 'production', version: 1, rollbackTo: null })]);
    expect(history.history[0]).toMatchObject({ action: 'rollback', from: 2, to: 1, reason: 'v2 regressed', movedBy: 'test-engineer' });
    await expect(cli(['rollback', 'fashion', 'cli-cnn', '--reason', 'again', '--yes'], engineerToken)).rejects.toMatchObject({
      stderr: expect.stringContaining('cannot roll back production of fashion/cli-cnn'),
    });
    await expect(cli(['publish', 'fashion', '--model', 'cli-cnn'])).rejects.toMatchObject({ stderr: expect.stringContaining('give --token or set EDGELOOP_TOKEN') });
  });
});
