import 'fake-indexeddb/auto';
import fs from 'node:fs';
import path from 'node:path';
import { deviceIdSchema, predictionEventSchema } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import { APP_VERSION, deviceId, forgetDeviceIdForTests } from './device-identity';
import type { ClassifyResult } from './inference-protocol';
import { localDb } from './local-db';
import { TOP_K, predictionEvent } from './prediction-event';

const labels = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt'];
const result: ClassifyResult = { probabilities: [0.05, 0.4, 0.1, 0.02, 0.3, 0.03, 0.1], embedding: [0.5, -1.25], backend: 'webgpu', latencyMs: 4.5 };

describe('what a prediction tells the hub about where it came from', () => {
  it('keeps one random id per installation, across page loads and for tabs asking at once', async () => {
    const first = await deviceId();
    expect(deviceIdSchema.parse(first)).toBe(first);
    forgetDeviceIdForTests(); // a new page load reads it back from IndexedDB
    expect(await deviceId()).toBe(first);
    // A fresh installation: two pages asking at once agree on one new id.
    await (await localDb()).delete('kv', 'deviceId');
    forgetDeviceIdForTests();
    const a = deviceId();
    forgetDeviceIdForTests();
    const b = deviceId();
    const [idA, idB] = await Promise.all([a, b]);
    expect(idA).toBe(idB);
    expect(idA).not.toBe(first);
  });

  it("sends the app's version from web-client/package.json", () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
    expect(APP_VERSION).toBe(version);
  });

  it('names the channel the model came from, the installation and the app version, and the hub accepts it', async () => {
    const id = await deviceId();
    const made = { id: crypto.randomUUID(), at: new Date('2026-11-30T12:00:00Z') };
    const ref = { project: 'fashion-mnist', model: 'fashion-cnn', channel: 'staging' };
    const event = predictionEvent({ ref, version: 3, labels, deviceId: id, appVersion: APP_VERSION }, result, 'camera', made);
    expect(event).toMatchObject({ id: made.id, model: 'fashion-cnn', version: 3, channel: 'staging', deviceId: id, appVersion: APP_VERSION, createdAt: '2026-11-30T12:00:00.000Z' });
    expect(event.top.map((t) => t.label)).toEqual(['trouser', 'coat', 'pullover', 'shirt', 't-shirt']);
    expect(event.top).toHaveLength(TOP_K);
    expect(predictionEventSchema.safeParse(event).error?.issues ?? []).toEqual([]);
    // Without the device's database the event goes without an installation id, and is still valid.
    const anonymous = predictionEvent({ ref, version: 3, labels, deviceId: undefined, appVersion: APP_VERSION }, result, 'file', made);
    expect('deviceId' in anonymous).toBe(false);
    expect(predictionEventSchema.safeParse(anonymous).success).toBe(true);
  });
});
