import crypto from 'node:crypto';
import { CDN_PREFIX, MODEL_FORMATS } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestHub, createTestHub, refusal } from '../../test/test-hub';
import { publishTinyVersion } from '../../test/tiny-model-version';
import { publishRun } from './publish.service';

describe("a version's files and the versions a run was published as", () => {
  let hub: TestHub;
  let tiny: Awaited<ReturnType<typeof publishTinyVersion>>;

  beforeAll(async () => {
    hub = await createTestHub('pglite');
    tiny = await publishTinyVersion(hub, { project: 'shop', model: 'tiny', counts: { train: 64, val: 16, test: 32 }, epochs: 1 });
  });
  afterAll(() => hub?.close());

  it('lists the signed manifest and every encoding file at a URL that serves exactly the bytes the manifest names', async () => {
    const engineer = await hub.as('engineer');
    const files = await engineer.registry.files({ project: 'shop', model: 'tiny', version: 1 });
    expect(files.manifest.url).toBe(tiny.published.manifestUrl);
    const published = MODEL_FORMATS.filter((f) => tiny.published.formats[f]?.published);
    expect(files.formats.map((f) => f.format).sort()).toEqual([...published].sort());
    // The hub's /cdn route serves the object store's cdn/ keys: each URL's key holds the file the manifest names.
    const keyOf = (url: string) => CDN_PREFIX + url.slice('/cdn/'.length);
    for (const format of files.formats) {
      expect(format.bytes).toBe(tiny.published.formats[format.format]!.bytes);
      expect(format.bytes).toBe(format.modelJson.bytes + format.shards.reduce((n, s) => n + s.bytes, 0));
      for (const file of [format.modelJson, ...format.shards]) {
        expect(file.url.startsWith(`/cdn/shop/tiny/v1/${format.format}/`), file.url).toBe(true);
        const bytes = await hub.deps.store.get(keyOf(file.url));
        expect(bytes?.length, file.path).toBe(file.bytes);
        expect(crypto.createHash('sha256').update(bytes!).digest('hex'), file.path).toBe(file.sha256);
      }
    }
    expect(await refusal(engineer.registry.files({ project: 'shop', model: 'tiny', version: 9 }))).toEqual({ code: 'NOT_FOUND', message: 'model "tiny" has no version 9' });
  });

  it('says which versions a run was published as, none before it is', async () => {
    const ci = await hub.as('ci', { projects: ['shop'] });
    expect(await ci.registry.publishedFrom({ runId: tiny.runId })).toEqual([{ model: 'tiny', version: 1, createdAt: tiny.published.createdAt }]);
    const again = await publishRun(hub.deps, { tokenId: null, name: 'test', role: 'ci', projects: null }, { runId: tiny.runId, model: 'tiny-copy', maxQuantizationDrop: 100 });
    expect((await ci.registry.publishedFrom({ runId: tiny.runId })).map((v) => `${v.model} v${v.version}`)).toEqual(['tiny v1', `tiny-copy v${again.version}`]);
    expect((await refusal(ci.registry.publishedFrom({ runId: crypto.randomUUID() })))?.code).toBe('FORBIDDEN');
    expect((await refusal((await hub.as('admin')).registry.publishedFrom({ runId: crypto.randomUUID() })))?.code).toBe('NOT_FOUND');
  });
});
