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

    // A second version, promoted, then rolled back: the channel returns to v1 and the history says who and why.
    await engineer.registry.publish({ runId: run.id, model: 'fashion-cnn' });
    await engineer.registry.promote({ project: 'fashion', model: 'fashion-cnn', channel: 'production', version: 2, reason: 'try v2' });
    const back = await engineer.registry.rollback({ project: 'fashion', model: 'fashion-cnn', channel: 'production', reason: 'v2 regressed' });
    expect(back.version.version).toBe(1);
    const history = await engineer.registry.versions({ project: 'fashion', model: 'fashion-cnn' });
    expect(history.channels).toEqual([expect.objectContaining({ name: 'production', version: 1 })]);
    expect(history.history[0]).toMatchObject({ action: 'rollback', from: 2, to: 1, reason: 'v2 regressed', movedBy: 'test-engineer' });
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
    await expect(cli(['publish', 'fashion', '--model', 'cli-cnn'])).rejects.toMatchObject({ stderr: expect.stringContaining('give --token or set EDGELOOP_TOKEN') });
  });
});
