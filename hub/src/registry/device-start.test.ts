/**
 * The PWA's page for a device's first visit, over HTTP: the start data and preload links for a promoted channel, the
 * keys alone before a promotion, both manifests and no preloads during a canary, and the plain page for a query that
 * names no valid channel or when the object store fails.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type DeviceStart, type ModelManifest, DEVICE_START_ELEMENT_ID, channelPointerKey, deviceStartSchema, versionDir } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishedVersion } from '../../test/published-version';
import { type TestHub, createTestHub } from '../../test/test-hub';
import { createHubServer, listen } from '../server';
import { withDeviceStart } from './device-start';
import { signPayload, signingKey } from './signing';

const PAGE = '<!doctype html><html><head><title>Edgeloop</title></head><body><div id="app"></div></body></html>';
const MODEL = 'mdl';

/** A manifest as publishing writes it, with one encoding of model.json and one shard. */
function manifestOf(project: string, version: number): ModelManifest {
  const file = (name: string) => ({ path: `uint8/${name}`, sha256: 'b'.repeat(64), bytes: 10 });
  return {
    format: 'edgeloop.model/v1',
    project,
    model: MODEL,
    version,
    createdAt: '2026-12-01T00:00:00.000Z',
    labels: ['a', 'b'],
    preprocessing: { height: 28, width: 28, color: 'grayscale', scale: 1, offset: 0 },
    architecture: 'reference-cnn',
    runId: 'run',
    datasetVersionId: 'c'.repeat(64),
    embeddingLayer: 'embedding',
    metrics: {},
    recommended: 'uint8',
    variants: [{ format: 'uint8', modelJson: file('model.json'), shards: [file('group1-shard1of1.bin')], bytes: 20, accuracy: 0.9 }],
  };
}

describe('a device\'s first page', () => {
  let hub: TestHub;
  let base: string;
  let close: () => void;
  const webRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-web-'));

  async function seed(project: string, versions: number): Promise<void> {
    await (await hub.as('admin')).projects.create({ slug: project, labels: ['a', 'b'] });
    const key = await signingKey(hub.deps);
    for (let version = 1; version <= versions; version++) {
      await publishedVersion(hub.deps, project, MODEL, version);
      const envelope = signPayload(key, JSON.stringify(manifestOf(project, version)));
      await hub.deps.store.put(`${versionDir(project, MODEL, version)}manifest.json`, new TextEncoder().encode(JSON.stringify(envelope)), { contentType: 'application/json' });
    }
  }

  /** The page for this query, and the start data and preload links in it. */
  async function page(query: string): Promise<{ html: string; start: DeviceStart | null; preloads: string[] }> {
    const response = await fetch(`${base}/?${query}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-cache');
    const html = await response.text();
    const data = new RegExp(`<script type="application/json" id="${DEVICE_START_ELEMENT_ID}">(.*?)</script>`).exec(html)?.[1];
    const preloads = [...html.matchAll(/<link rel="preload" as="fetch" crossorigin href="([^"]+)">/g)].map((m) => m[1]!);
    return { html, start: data ? deviceStartSchema.parse(JSON.parse(data)) : null, preloads };
  }

  beforeAll(async () => {
    hub = await createTestHub('pglite');
    fs.writeFileSync(path.join(webRoot, 'index.html'), PAGE);
    const server = createHubServer(hub.deps, { webRoot });
    const { port } = await listen(server, 0, '127.0.0.1');
    base = `http://127.0.0.1:${port}`;
    close = () => server.close();
    await seed('shop', 2);
  });
  afterAll(async () => {
    close();
    await hub.close();
  });

  it('before a promotion: the hub\'s keys alone, as registry.publicKeys gives them', async () => {
    const { start, preloads } = await page(`project=shop&model=${MODEL}`);
    expect(start).toEqual({ keys: await hub.anonymous().registry.publicKeys(), objects: {} });
    expect(preloads).toEqual([]);
  });

  it('for a promoted channel: the signed pointer and manifest as stored, and preloads of the files the device takes', async () => {
    await (await hub.as('engineer')).registry.promote({ project: 'shop', model: MODEL, channel: 'production', version: 1, reason: 'first' });
    const pointerKey = channelPointerKey('shop', MODEL, 'production');
    const manifestKey = `${versionDir('shop', MODEL, 1)}manifest.json`;
    const { start, preloads } = await page(`project=shop&model=${MODEL}&token=secret`);
    const stored = async (key: string) => new TextDecoder().decode((await hub.deps.store.get(key))!);
    expect(start!.objects).toEqual({ [pointerKey]: await stored(pointerKey), [manifestKey]: await stored(manifestKey) });
    expect(preloads).toEqual([`/cdn/shop/${MODEL}/v1/uint8/model.json`, `/cdn/shop/${MODEL}/v1/uint8/group1-shard1of1.bin`]);
  });

  it('during a canary: both versions\' manifests, and no preloads (the device decides its group)', async () => {
    await (await hub.as('engineer')).registry.canary.start({ project: 'shop', model: MODEL, channel: 'production', version: 2, share: 0.5, reason: 'try' });
    const { start, preloads } = await page(`project=shop&model=${MODEL}`);
    expect(Object.keys(start!.objects).sort()).toEqual([
      channelPointerKey('shop', MODEL, 'production'),
      `${versionDir('shop', MODEL, 1)}manifest.json`,
      `${versionDir('shop', MODEL, 2)}manifest.json`,
    ]);
    expect(preloads).toEqual([]);
  });

  it('the page as built for a query naming no valid channel, another path, or when the object store fails', async () => {
    for (const query of ['project=Shop!&model=mdl', 'project=shop', 'project=shop&model=mdl&channel=-x']) {
      const { html, start } = await page(query);
      expect(start, query).toBeNull();
      expect(html).toBe(PAGE);
    }
    const get = hub.deps.store.get;
    hub.deps.store.get = () => Promise.reject(new Error('store down'));
    try {
      expect((await page(`project=shop&model=${MODEL}`)).html).toBe(PAGE);
    } finally {
      hub.deps.store.get = get;
    }
  });

  it('keeps the data inside its script element whatever the texts hold', () => {
    const html = withDeviceStart(PAGE, {
      start: { keys: { keys: [], activeKeyId: '</script><script>alert(1)</script>', cdnBaseUrl: '/cdn' }, objects: {} },
      preload: ['/cdn/a"><script>alert(2)</script>'],
    });
    expect(html).not.toContain('<script>alert');
    expect(html.match(/<\/script>/g)).toHaveLength(1);
  });
});
