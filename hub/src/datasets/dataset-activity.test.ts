import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestHub, createTestHub, refusal } from '../../test/test-hub';
import { getProject } from '../projects/project.service';
import { activitiesOf } from './dataset-activity';
import { importFolder } from './import-folder';

const png = (red: number) => sharp({ create: { width: 8, height: 8, channels: 3, background: { r: red, g: 0, b: 0 } } }).png().toBuffer();

describe('imports and commits as activities the admin can watch', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await createTestHub('pglite');
    await (await hub.as('admin')).projects.create({ slug: 'busy', labels: ['red', 'blue'] });
  });
  afterAll(() => hub.close());

  it('records an import with its images done of all, and a commit, each finished; a failed commit says why in words', async () => {
    const engineer = await hub.as('engineer');
    expect(await refusal(engineer.datasets.commit({ project: 'busy', message: 'nothing yet' }))).toMatchObject({ code: 'BAD_REQUEST' });
    const failed = (await engineer.datasets.activity({ project: 'busy' })).at(-1)!;
    expect(failed).toMatchObject({ kind: 'commit', failed: 'project "busy" has no items to commit', finishedAt: expect.any(String) });

    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-activity-'));
    fs.mkdirSync(path.join(folder, 'red'));
    for (const value of [10, 20, 30]) fs.writeFileSync(path.join(folder, 'red', `${value}.png`), await png(value));
    const seen: { done: number; total: number | null }[] = [];
    await importFolder(hub.deps, await getProject(hub.deps, 'busy'), folder, {
      // While the import runs, the hub's activity says how far it got.
      onProgress: () => {
        const running = activitiesOf('busy').find((a) => a.kind === 'import' && a.finishedAt === null)!;
        seen.push({ done: running.done, total: running.total });
      },
    });
    expect(seen.at(-1)).toEqual({ done: 3, total: 3 });
    await engineer.datasets.commit({ project: 'busy', message: 'three reds' });
    const kinds = (await engineer.datasets.activity({ project: 'busy' })).map((a) => [a.kind, a.failed === null, a.finishedAt !== null, a.done, a.total]);
    expect(kinds).toEqual([
      ['commit', false, true, 0, null],
      ['import', true, true, 3, 3],
      ['commit', true, true, 0, null],
    ]);
  });
});
