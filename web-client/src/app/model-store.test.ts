import 'fake-indexeddb/auto';
import nodeCrypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type ChannelPointer,
  type DeviceStart,
  type ModelManifest,
  type TrustedKeySet,
  CDN_PREFIX,
  DEVICE_START_ELEMENT_ID,
  channelPointerKey,
  formatFilePath,
  inCanary,
  manifestFileName,
  modelDir,
  modelJsonFileName,
  rolloutKey,
  shardFileName,
  versionDir,
} from '@edgeloop/shared';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ChannelRef, ModelRefused, type RolloutAssignment, fetchChannelModel, loadCachedModel, prefetchChannelModel, rememberModel } from './model-store';
import { type HubKey, hubKey } from '../test-support/hub-key';

/**
 * The hub and its CDN as a device meets them: registry.publicKeys (tRPC's wire format) and the published files under
 * /cdn, laid out by the shared CDN paths, served over HTTP from `files` (object-store key -> bytes), which a test may
 * alter as a compromised CDN would.
 */
const files = new Map<string, Uint8Array>();
const key = hubKey();
const keySet: TrustedKeySet = {
  keys: [{ keyId: key.trusted.keyId, algorithm: 'Ed25519', publicKey: key.trusted.publicKey, publicKeyPem: key.publicKeyPem, active: true }],
  activeKeyId: key.trusted.keyId,
  cdnBaseUrl: '/cdn',
};
/** Paths the server was asked for, in order. */
const served: string[] = [];
const server = http.createServer((request, response) => {
  const { pathname } = new URL(request.url!, 'http://hub');
  served.push(pathname);
  if (pathname === '/trpc/registry.publicKeys') {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ result: { data: keySet } }));
    return;
  }
  const body = pathname.startsWith('/cdn/') ? files.get(CDN_PREFIX + pathname.slice('/cdn/'.length)) : undefined;
  response.statusCode = body ? 200 : 404;
  response.end(body);
});

/** Cache Storage, which Node lacks: what the page keeps verified model files in. */
function memoryCaches() {
  const stores = new Map<string, Map<string, { body: ArrayBuffer; headers: [string, string][] }>>();
  return {
    async open(name: string) {
      const store = stores.get(name) ?? new Map();
      stores.set(name, store);
      return {
        async match(url: string) {
          const hit = store.get(url);
          return hit ? new Response(hit.body.slice(0), { headers: hit.headers }) : undefined;
        },
        async put(url: string, response: Response) {
          store.set(url, { body: await response.arrayBuffer(), headers: [...response.headers] });
        },
        async delete(url: string) {
          return store.delete(url);
        },
      };
    },
  };
}

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // The page the model store runs in: on the hub's origin, where relative URLs (/trpc, /cdn) resolve.
  const page = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  const nodeFetch = globalThis.fetch;
  vi.stubGlobal('location', page);
  vi.stubGlobal('fetch', (input: string | URL | Request, init?: RequestInit) => nodeFetch(typeof input === 'string' ? new URL(input, page) : input, init));
  vi.stubGlobal('caches', memoryCaches());
});

afterAll(async () => {
  vi.unstubAllGlobals();
  await new Promise((resolve) => server.close(resolve));
});

const sha256 = (bytes: Uint8Array | string) => nodeCrypto.createHash('sha256').update(bytes).digest('hex');
const text = (value: string) => new TextEncoder().encode(value);
const LABELS = ['cat', 'dog', 'bird'];

interface Published {
  pointer: string;
  manifestKey: string;
  shardKeys: string[];
  modelJson: object;
  /** The shards concatenated, as the device hands them to the inference worker. */
  weights: Uint8Array;
}

/** Publishes `version` of ref's model as the hub does (content-hashed files, signed manifest) and moves the channel to it. */
function publish(ref: ChannelRef, version: number, movedAt: string, signer: HubKey = key): Published {
  const dir = versionDir(ref.project, ref.model, version);
  const shards = [nodeCrypto.randomBytes(300), nodeCrypto.randomBytes(200)];
  const shardNames = shards.map((bytes, i) => shardFileName(i + 1, shards.length, sha256(bytes)));
  const shardPaths = shardNames.map((name) => formatFilePath('float32', name));
  const modelJson = { modelTopology: { class_name: 'Model' }, weightsManifest: [{ paths: shardNames, weights: [] }] };
  const modelJsonBytes = text(JSON.stringify(modelJson));
  const modelJsonPath = formatFilePath('float32', modelJsonFileName(sha256(modelJsonBytes)));
  files.set(dir + modelJsonPath, modelJsonBytes);
  shards.forEach((bytes, i) => files.set(dir + shardPaths[i]!, bytes));
  const manifest: ModelManifest = {
    format: 'edgeloop.model/v1',
    project: ref.project,
    model: ref.model,
    version,
    createdAt: movedAt,
    labels: LABELS,
    preprocessing: { height: 8, width: 8, color: 'grayscale', scale: 1, offset: 0 },
    architecture: 'test-net',
    runId: `run-${version}`,
    datasetVersionId: sha256(`dataset ${version}`),
    embeddingLayer: 'embedding',
    metrics: { accuracy: 0.9 },
    recommended: 'float32',
    variants: [
      {
        format: 'float32',
        modelJson: { path: modelJsonPath, sha256: sha256(modelJsonBytes), bytes: modelJsonBytes.byteLength },
        shards: shards.map((bytes, i) => ({ path: shardPaths[i]!, sha256: sha256(bytes), bytes: bytes.byteLength })),
        bytes: modelJsonBytes.byteLength + shards.reduce((n, s) => n + s.byteLength, 0),
        accuracy: 0.9,
      },
    ],
  };
  const manifestText = JSON.stringify(signer.sign(JSON.stringify(manifest)));
  const manifestKey = `${dir}${manifestFileName(sha256(manifestText))}`;
  files.set(manifestKey, text(manifestText));
  const pointer = movePointer(ref, version, manifestKey, manifestText, movedAt, signer);
  return { pointer, manifestKey, shardKeys: shardPaths.map((p) => dir + p), modelJson, weights: new Uint8Array(Buffer.concat(shards)) };
}

/** Signs and serves the channel pointer naming a manifest; returns the pointer file's text. */
function movePointer(
  ref: ChannelRef,
  version: number,
  manifestKey: string,
  manifestText: string,
  movedAt: string,
  signer: HubKey = key,
  candidate?: { version: number; manifestKey: string; share: number },
): string {
  const relative = (k: string) => `../${k.slice(modelDir(ref.project, ref.model).length)}`;
  const pointer: ChannelPointer = {
    format: 'edgeloop.channel/v1',
    ...ref,
    version,
    manifestPath: relative(manifestKey),
    manifestSha256: sha256(manifestText),
    movedAt,
    ...(candidate
      ? { candidate: { version: candidate.version, manifestPath: relative(candidate.manifestKey), manifestSha256: sha256(files.get(candidate.manifestKey)!), share: candidate.share, since: movedAt } }
      : {}),
  };
  const pointerText = JSON.stringify(signer.sign(JSON.stringify(pointer)));
  files.set(channelPointerKey(ref.project, ref.model, ref.channel), text(pointerText));
  return pointerText;
}

/** Each test has a model of its own: the device remembers models per channel, and caches files per URL. */
const refFor = (model: string): ChannelRef => ({ project: 'store-test', model, channel: 'production' });

describe('published models on the device', () => {
  it('accepts a model whose signatures and hashes verify, and opens it from the device alone once remembered', async () => {
    const ref = refFor('good-model');
    const published = publish(ref, 1, '2026-01-01T00:00:00.000Z');

    const model = (await fetchChannelModel(ref, null))!;
    expect(model.version).toBe(1);
    expect(model.manifest.labels).toEqual(LABELS);
    expect(model.modelJson).toEqual(published.modelJson);
    expect(new Uint8Array(model.weights)).toEqual(published.weights);
    await rememberModel(model);
    expect(await fetchChannelModel(ref, 1)).toBeNull(); // still the version in use

    for (const path of [...files.keys()].filter((k) => k.startsWith(modelDir(ref.project, ref.model)))) files.delete(path);
    const cached = (await loadCachedModel(ref))!;
    expect(cached.version).toBe(1);
    expect(new Uint8Array(cached.weights)).toEqual(published.weights);
  });

  it('opens a remembered model from files it marked as verified without hashing them again, and re-checks any file marked for other bytes', async () => {
    const ref = refFor('marked-model');
    const published = publish(ref, 1, '2026-01-01T00:00:00.000Z');
    const model = (await fetchChannelModel(ref, null))!;
    await rememberModel(model);
    const cache = await caches.open('edgeloop-models-v1');
    const shard = model.variant.shards[0]!;
    const url = `${location.origin}/cdn/${published.shardKeys[0]!.slice(CDN_PREFIX.length)}`;
    const stored = (await cache.match(url))!;
    expect(stored.headers.get('x-edgeloop-verified-sha256')).toBe(shard.sha256);
    const good = new Uint8Array(await stored.arrayBuffer());
    const flipped = Uint8Array.from(good);
    flipped[0]! ^= 0xff;

    // The mark is what a warm start trusts: bytes stored under it are used as they are (only this origin's code
    // writes the cache, and only after hashing).
    await cache.put(url, new Response(flipped, { headers: { 'x-edgeloop-verified-sha256': shard.sha256 } }));
    expect(new Uint8Array((await loadCachedModel(ref))!.weights).subarray(0, shard.bytes)).toEqual(flipped);

    // A mark for other bytes (another version's file, or none) is no mark: the file is hashed and, not matching, refused.
    await cache.put(url, new Response(flipped, { headers: { 'x-edgeloop-verified-sha256': sha256(flipped) } }));
    await expect(loadCachedModel(ref)).rejects.toThrow(new ModelRefused(`${shard.path} is not in this device's cache`));

    // An unmarked file that matches (stored by an earlier version of the app) is hashed once and marked.
    await cache.put(url, new Response(good));
    expect(new Uint8Array((await loadCachedModel(ref))!.weights)).toEqual(published.weights);
    expect((await cache.match(url))!.headers.get('x-edgeloop-verified-sha256')).toBe(shard.sha256);
  });

  it("hands a first visit's prefetched check to the app's first check, downloading each file once, and prefetches nothing for a channel it has a model of", async () => {
    const ref = refFor('prefetched-model');
    const published = publish(ref, 1, '2026-01-01T00:00:00.000Z');
    const shardPath = `/cdn/${published.shardKeys[0]!.slice(CDN_PREFIX.length)}`;
    served.length = 0;
    await prefetchChannelModel(ref, Promise.resolve(null));
    const model = (await fetchChannelModel(ref, null))!;
    expect(new Uint8Array(model.weights)).toEqual(published.weights);
    expect(served.filter((path) => path === shardPath)).toHaveLength(1);
    expect(served.filter((path) => path.endsWith('/channels/production.json'))).toHaveLength(1);

    // Taken once: the next check reads the pointer again.
    expect((await fetchChannelModel(ref, null))!.version).toBe(1);
    expect(served.filter((path) => path.endsWith('/channels/production.json'))).toHaveLength(2);

    await rememberModel(model);
    served.length = 0;
    await prefetchChannelModel(ref, Promise.resolve(null));
    expect(served).toEqual([]);
  });

  it('refuses a pointer or a manifest whose payload was changed after signing, and one signed by a key the hub does not trust', async () => {
    const ref = refFor('tampered-model');
    const published = publish(ref, 1, '2026-01-01T00:00:00.000Z');
    const pointerKey = channelPointerKey(ref.project, ref.model, ref.channel);

    const pointer = JSON.parse(published.pointer);
    files.set(pointerKey, text(JSON.stringify({ ...pointer, payload: pointer.payload.replace('"version":1', '"version":2') })));
    await expect(fetchChannelModel(ref, null)).rejects.toThrow(new ModelRefused(`channel pointer production has a signature that does not verify with key ${key.trusted.keyId}`));

    // The manifest altered (its accuracy raised), and a pointer that names the altered bytes: only the signature tells.
    const envelope = JSON.parse(new TextDecoder().decode(files.get(published.manifestKey)));
    const tampered = JSON.stringify({ ...envelope, payload: envelope.payload.replace('"accuracy":0.9}', '"accuracy":0.99}') });
    files.set(published.manifestKey, text(tampered));
    movePointer(ref, 1, published.manifestKey, tampered, '2026-01-01T00:00:00.000Z');
    await expect(fetchChannelModel(ref, null)).rejects.toThrow(new ModelRefused(`manifest of v1 has a signature that does not verify with key ${key.trusted.keyId}`));

    const stranger = hubKey();
    publish(ref, 2, '2026-01-02T00:00:00.000Z', stranger);
    const refused = fetchChannelModel(ref, null);
    await expect(refused).rejects.toThrow(ModelRefused);
    await expect(refused).rejects.toThrow(`is signed by key ${stranger.trusted.keyId}, which the hub does not trust`);
  });

  it('refuses a shard whose bytes do not match the signed manifest, and takes the model once the right bytes are served', async () => {
    const ref = refFor('bad-shard-model');
    const published = publish(ref, 1, '2026-01-01T00:00:00.000Z');
    const shardKey = published.shardKeys[1]!;
    const good = files.get(shardKey)!;
    const flipped = Uint8Array.from(good);
    flipped[flipped.length >> 1]! ^= 0xff;
    files.set(shardKey, flipped);

    const refused = fetchChannelModel(ref, null);
    await expect(refused).rejects.toThrow(ModelRefused);
    await expect(refused).rejects.toThrow(/group1-shard2of2\.[0-9a-f]{16}\.bin does not match the signed manifest/);

    // Nothing of the refused delivery sticks: once the CDN serves the right bytes, the model is accepted.
    files.set(shardKey, good);
    expect(new Uint8Array((await fetchChannelModel(ref, null))!.weights)).toEqual(published.weights);
  });

  it('refuses a validly signed pointer older than the one it trusts (a replay), and takes a rollback signed anew', async () => {
    const ref = refFor('replayed-model');
    const first = publish(ref, 1, '2026-01-01T00:00:00.000Z');
    await rememberModel((await fetchChannelModel(ref, null))!);
    publish(ref, 2, '2026-01-02T00:00:00.000Z');
    const second = (await fetchChannelModel(ref, 1))!;
    expect(second.version).toBe(2);
    await rememberModel(second);

    files.set(channelPointerKey(ref.project, ref.model, ref.channel), text(first.pointer));
    const refused = fetchChannelModel(ref, 2);
    await expect(refused).rejects.toThrow(ModelRefused);
    await expect(refused).rejects.toThrow('channel pointer for v1 was moved at 2026-01-01T00:00:00.000Z, before the one this device has (2026-01-02T00:00:00.000Z): an old pointer replayed');

    // A rollback in the hub moves the channel back to v1 with a new pointer: that one is taken.
    const manifestText = new TextDecoder().decode(files.get(first.manifestKey));
    movePointer(ref, 1, first.manifestKey, manifestText, '2026-01-03T00:00:00.000Z');
    expect((await fetchChannelModel(ref, 2))!.version).toBe(1);
  });
});

describe('a staged rollout on the device', () => {
  const manifestTextOf = (published: Published) => new TextDecoder().decode(files.get(published.manifestKey));

  /** v1 for everyone and v2 published; the pointer names v1 with v2 as the candidate for `share` of devices. */
  function canaryOf(ref: ChannelRef, share: number) {
    const v1 = publish(ref, 1, '2026-02-01T00:00:00.000Z');
    const v2 = publish(ref, 2, '2026-02-02T00:00:00.000Z');
    movePointer(ref, 1, v1.manifestKey, manifestTextOf(v1), '2026-02-03T00:00:00.000Z', key, { version: 2, manifestKey: v2.manifestKey, share });
    return { v1, v2 };
  }

  /** A random installation id in (or out of) the canary of `ref`'s v2 at `share`: what device-identity.ts makes, drawn until it fits. */
  function deviceIn(ref: ChannelRef, share: number, canary: boolean): string {
    for (;;) {
      const id = crypto.randomUUID();
      if (inCanary(id, rolloutKey(ref.project, ref.model, ref.channel, 2), share) === canary) return id;
    }
  }

  it('runs the candidate, verified like any version, on a device in the canary, and the current version on the others', async () => {
    const ref = refFor('canary-model');
    const { v1, v2 } = canaryOf(ref, 0.3);
    const assignments: (RolloutAssignment | null)[] = [];
    const inside = deviceIn(ref, 0.3, true);
    const canary = (await fetchChannelModel(ref, null, { deviceId: inside, onAssignment: (a) => assignments.push(a) }))!;
    expect(canary.version).toBe(2);
    expect(canary.ref).toEqual(ref);
    expect(new Uint8Array(canary.weights)).toEqual(v2.weights);
    expect(canary.rollout).toEqual({ current: 1, candidate: 2, share: 0.3, inCanary: true });
    expect(assignments).toEqual([{ current: 1, candidate: 2, share: 0.3, inCanary: true }]);
    await rememberModel(canary);
    // The same device asks again: it stays in its group, on v2.
    expect(await fetchChannelModel(ref, 2, { deviceId: inside })).toBeNull();

    const outside = (await fetchChannelModel(ref, null, { deviceId: deviceIn(ref, 0.3, false) }))!;
    expect(outside.version).toBe(1);
    expect(new Uint8Array(outside.weights)).toEqual(v1.weights);
    expect(outside.rollout).toMatchObject({ inCanary: false });
    // No device id (its database unavailable): production.
    expect((await fetchChannelModel(ref, null))!.version).toBe(1);

    // Offline, the remembered canary model verifies against the candidate part of the signed pointer.
    for (const path of [...files.keys()].filter((k) => k.startsWith(modelDir(ref.project, ref.model)))) files.delete(path);
    const cached = (await loadCachedModel(ref))!;
    expect(cached.version).toBe(2);
    expect(new Uint8Array(cached.weights)).toEqual(v2.weights);
  });

  it('refuses a candidate whose shard or manifest does not match, and keeps the model in use', async () => {
    const ref = refFor('bad-canary-model');
    const { v2 } = canaryOf(ref, 0.5);
    const inside = deviceIn(ref, 0.5, true);
    const shardKey = v2.shardKeys[0]!;
    const good = files.get(shardKey)!;
    files.set(shardKey, Uint8Array.from(good, (b, i) => (i === 7 ? b ^ 1 : b)));
    await expect(fetchChannelModel(ref, 1, { deviceId: inside })).rejects.toThrow(/group1-shard1of2\.[0-9a-f]{16}\.bin does not match the signed manifest/);
    files.set(shardKey, good);

    // The candidate's manifest replaced by another validly signed one: its sha256 is not the one the pointer names.
    const manifest = files.get(v2.manifestKey)!;
    const other = publish(refFor('bad-canary-other'), 2, '2026-02-02T00:00:00.000Z');
    files.set(v2.manifestKey, files.get(other.manifestKey)!);
    await expect(fetchChannelModel(ref, 1, { deviceId: inside })).rejects.toThrow(/^manifest of v2: sha256 [0-9a-f]{12}… is not the one the channel pointer names$/);
    files.set(v2.manifestKey, manifest);
    expect((await fetchChannelModel(ref, 1, { deviceId: inside }))!.version).toBe(2);
  });

  it('keeps a canary device on the candidate once promoted to all, ignoring a replayed canary pointer', async () => {
    const ref = refFor('promoted-canary-model');
    const { v2 } = canaryOf(ref, 0.2);
    const canaryPointer = new TextDecoder().decode(files.get(channelPointerKey(ref.project, ref.model, ref.channel)));
    const inside = deviceIn(ref, 0.2, true);
    await rememberModel((await fetchChannelModel(ref, null, { deviceId: inside }))!);

    // Promoted to every device: the device already runs v2, and keeps the new pointer for offline use.
    movePointer(ref, 2, v2.manifestKey, manifestTextOf(v2), '2026-02-04T00:00:00.000Z');
    const assignments: (RolloutAssignment | null)[] = [];
    expect(await fetchChannelModel(ref, 2, { deviceId: inside, onAssignment: (a) => assignments.push(a) })).toBeNull();
    expect(assignments).toEqual([null]);
    expect(await loadCachedModel(ref)).toMatchObject({ version: 2, rollout: null });

    // The canary pointer replayed: the device stays on v2 and keeps the newer pointer.
    files.set(channelPointerKey(ref.project, ref.model, ref.channel), text(canaryPointer));
    expect(await fetchChannelModel(ref, 2, { deviceId: inside })).toBeNull();
    expect(await loadCachedModel(ref)).toMatchObject({ version: 2, rollout: null });
    // ...and a device outside the canary, holding the promoted pointer, refuses to go back to v1 with it.
    await expect(fetchChannelModel(ref, 2, { deviceId: deviceIn(ref, 0.2, false) })).rejects.toThrow(/an old pointer replayed$/);
  });

  it('moves a canary device back to the current version when the canary is aborted', async () => {
    const ref = refFor('aborted-canary-model');
    const { v1 } = canaryOf(ref, 0.2);
    const inside = deviceIn(ref, 0.2, true);
    await rememberModel((await fetchChannelModel(ref, null, { deviceId: inside }))!);
    // The abort signs a pointer without the candidate, moved later.
    movePointer(ref, 1, v1.manifestKey, manifestTextOf(v1), '2026-02-05T00:00:00.000Z');
    const back = (await fetchChannelModel(ref, 2, { deviceId: inside }))!;
    expect(back).toMatchObject({ version: 1, rollout: null });
    expect(new Uint8Array(back.weights)).toEqual(v1.weights);
  });
});

describe('a first visit given the texts with its page', () => {
  /** A fresh copy of the device's model code, in a page the hub gave `start` (shared/src/device-start.ts). */
  async function pageWith(start: DeviceStart): Promise<typeof import('./model-store')> {
    vi.resetModules();
    const element = { textContent: JSON.stringify(start) };
    Object.assign(globalThis, { document: { getElementById: (id: string) => (id === DEVICE_START_ELEMENT_ID ? element : null) } });
    return import('./model-store');
  }
  afterEach(() => {
    delete (globalThis as { document?: unknown }).document;
  });
  const startOf = (ref: ChannelRef, published: Published, pointer = published.pointer): DeviceStart => ({
    keys: keySet,
    objects: { [channelPointerKey(ref.project, ref.model, ref.channel)]: pointer, [published.manifestKey]: new TextDecoder().decode(files.get(published.manifestKey)) },
  });
  /** What the page's first model check does (model-prefetch.ts), then the app's own check. */
  async function firstVisit(store: typeof import('./model-store'), ref: ChannelRef) {
    store.prefetchHubKeys(true);
    await store.prefetchChannelModel(ref, Promise.resolve(null), { firstVisit: true });
    return store.fetchChannelModel(ref, null);
  }

  it('asks the network for the model files only, and takes the model a device that fetched everything takes', async () => {
    const ref = refFor('first-visit-model');
    const published = publish(ref, 1, '2026-03-01T00:00:00.000Z');
    const store = await pageWith(startOf(ref, published));
    served.length = 0;
    const model = (await firstVisit(store, ref))!;
    expect(model.version).toBe(1);
    expect(new Uint8Array(model.weights)).toEqual(published.weights);
    const versionPath = `/cdn/${versionDir(ref.project, ref.model, 1).slice(CDN_PREFIX.length)}`;
    expect(served.sort()).toEqual([model.variant.modelJson, ...model.variant.shards].map((file) => versionPath + file.path).sort());
    // Its files are cached once it is remembered: the next start needs no network.
    await store.rememberModel(model);
    expect(new Uint8Array((await store.loadCachedModel(ref))!.weights)).toEqual(published.weights);
  });

  it('refuses a text given with the page that fails its signature, as it would a fetched one', async () => {
    const ref = refFor('first-visit-forged');
    const published = publish(ref, 1, '2026-03-01T00:00:00.000Z');
    const forged = JSON.stringify({ ...JSON.parse(published.pointer), payload: JSON.parse(published.pointer).payload.replace('"version":1', '"version":7') });
    const store = await pageWith(startOf(ref, published, forged));
    await expect(firstVisit(store, ref)).rejects.toThrow(/signature/);
  });
});
