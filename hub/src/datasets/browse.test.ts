import { type SplitLabelCounts, objectKeyForSha256 } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, type TestHub, createTestHub, refusal } from '../../test/test-hub';
import { getProject } from '../projects/project.service';
import { type SeededItem, seedItems } from './seed-items';

const LABELS = ['cat', 'dog', 'bird'];
const COUNT = 250;

/** counts[split][label] of some seeded items: what the hub's balance must say. */
function expectedBalance(rows: readonly SeededItem[]): SplitLabelCounts {
  const out: SplitLabelCounts = {};
  for (const { split, label } of rows) (out[split] ??= {})[label] = (out[split]![label] ?? 0) + 1;
  return out;
}
const bySha = (a: { sha256: string }, b: { sha256: string }) => (a.sha256 < b.sha256 ? -1 : 1);

describe.each(DATABASES)('browsing items and their history on $kind', ({ kind, skip }) => {
  let hub: TestHub;
  let seeded: SeededItem[];
  beforeAll(async () => {
    if (skip) return;
    hub = await createTestHub(kind);
    const admin = await hub.as('admin');
    await admin.projects.create({ slug: 'shop', labels: LABELS });
    await admin.projects.create({ slug: 'other', labels: LABELS });
    seeded = await seedItems(hub.deps.db, (await getProject(hub.deps, 'shop')).id, 'shop', COUNT, LABELS);
    await seedItems(hub.deps.db, (await getProject(hub.deps, 'other')).id, 'other', 5, LABELS);
  });
  afterAll(() => hub?.close());

  it.skipIf(skip)('pages the working set in sha256 order, every item once, with totals, balance and thumbnails', async () => {
    const engineer = await hub.as('engineer');
    const seen: string[] = [];
    let pages = 0;
    for (let page = 1; ; page++) {
      const answer = await engineer.items.browse({ project: 'shop', page, pageSize: 100 });
      expect(answer).toMatchObject({ scope: { kind: 'working-set' }, total: COUNT, pages: Math.ceil(COUNT / 100), page, pageSize: 100 });
      if (answer.items.length === 0) break;
      pages++;
      for (const item of answer.items) expect(item.thumbnailUrl).toContain(objectKeyForSha256(item.sha256));
      seen.push(...answer.items.map((i) => i.sha256));
    }
    expect(pages).toBe(Math.ceil(COUNT / 100));
    expect(seen).toEqual([...seeded].sort(bySha).map((s) => s.sha256));
    const first = await engineer.items.browse({ project: 'shop', pageSize: 3 });
    expect(first.items[0]).toMatchObject({ width: 28, height: 28, contentType: 'image/png' });
    expect(first.balance).toEqual(expectedBalance(seeded));
  });

  it.skipIf(skip)('filters by label, split and source, with the total and balance of what matches', async () => {
    const engineer = await hub.as('engineer');
    const cases = [{ label: 'dog' }, { split: 'val' as const }, { source: 'upload' as const }, { label: 'bird', split: 'test' as const, source: 'idx' as const }];
    for (const filter of cases) {
      const matching = seeded.filter((s) => Object.entries(filter).every(([key, value]) => s[key as keyof SeededItem] === value));
      const answer = await engineer.items.browse({ project: 'shop', ...filter, pageSize: 100 });
      expect(answer.total, JSON.stringify(filter)).toBe(matching.length);
      expect(answer.balance, JSON.stringify(filter)).toEqual(expectedBalance(matching));
      expect(answer.items.map((i) => i.sha256)).toEqual([...matching].sort(bySha).slice(0, 100).map((s) => s.sha256));
      for (const item of answer.items) expect(item).toMatchObject(filter);
    }
  });

  it.skipIf(skip)('refuses out-of-bounds pages, page sizes, unknown labels and sources with the field and the valid values', async () => {
    const engineer = await hub.as('engineer');
    expect(await refusal(engineer.items.browse({ project: 'shop', pageSize: 101 }))).toEqual({ code: 'BAD_REQUEST', message: 'pageSize: at most 100' });
    expect(await refusal(engineer.items.browse({ project: 'shop', page: 0 }))).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/^page: /) });
    expect(await refusal(engineer.items.browse({ project: 'shop', page: 10_001 }))).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('at most 10000') });
    expect(await refusal(engineer.items.browse({ project: 'shop', label: 'horse' }))).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('cat') });
    expect(await refusal(engineer.items.browse({ project: 'shop', source: 'camera' as never }))).toMatchObject({ message: expect.stringContaining('source must be one of: folder, idx, upload') });
    expect(await refusal(engineer.items.browse({ project: 'shop', version: 'f'.repeat(64) }))).toMatchObject({ code: 'NOT_FOUND' });
  });

  it.skipIf(skip)('browses a version like the working set it was committed from, and keeps it when the working set changes', async () => {
    const engineer = await hub.as('engineer');
    const { version } = await engineer.datasets.commit({ project: 'shop', message: 'first' });
    const fromVersion = await engineer.items.browse({ project: 'shop', version: version.id, pageSize: 100, page: 2 });
    const fromWorkingSet = await engineer.items.browse({ project: 'shop', pageSize: 100, page: 2 });
    expect(fromVersion.scope).toEqual({ kind: 'version', id: version.id, message: 'first' });
    expect(fromVersion.items.map(({ thumbnailUrl: _, ...i }) => i)).toEqual(fromWorkingSet.items.map(({ thumbnailUrl: _, ...i }) => i));
    expect(fromVersion.balance).toEqual(expectedBalance(seeded));
    const uploads = await engineer.items.browse({ project: 'shop', version: version.id.slice(0, 10), source: 'upload', split: 'train' });
    expect(uploads.total).toBe(seeded.filter((s) => s.source === 'upload' && s.split === 'train').length);
    expect(uploads.balance).toEqual(expectedBalance(seeded.filter((s) => s.source === 'upload' && s.split === 'train')));

    const activity = await engineer.datasets.activity({ project: 'shop' });
    expect(activity.at(-1)).toMatchObject({ kind: 'commit', failed: null, finishedAt: expect.any(String) });
  });

  it.skipIf(skip)('relabels, moves and removes an item, each undone by another change, and the history shows every version', async () => {
    const engineer = await hub.as('engineer');
    const [first] = await engineer.datasets.list({ project: 'shop' });
    const item = [...seeded].sort(bySha)[7]!;
    const other = LABELS.find((l) => l !== item.label)!;
    await engineer.items.update({ project: 'shop', sha256: item.sha256, label: other });
    await engineer.items.update({ project: 'shop', sha256: item.sha256, split: 'test' });
    const moved = await engineer.items.history({ project: 'shop', sha256: item.sha256 });
    expect(moved.workingSet).toMatchObject({ label: other, split: 'test', source: item.source });
    expect(moved.versions).toEqual([{ id: first!.id, message: 'first', createdAt: first!.createdAt, item: { label: item.label, split: item.split } }]);
    expect(moved.image).toMatchObject({ width: 28, height: 28, url: expect.stringContaining(objectKeyForSha256(item.sha256)) });
    expect(moved.review).toBeNull();

    const { version: second } = await engineer.datasets.commit({ project: 'shop', message: 'relabelled one' });
    const diff = await engineer.datasets.diff({ project: 'shop', from: first!.id, to: second.id, images: true, limit: 10 });
    expect(diff.counts).toEqual({ added: 0, removed: 0, relabelled: 1, unchanged: COUNT - 1 });
    expect(diff.relabelled).toEqual([{ sha256: item.sha256, from: { label: item.label, split: item.split }, to: { label: other, split: 'test' } }]);
    expect(diff.thumbnails[item.sha256]).toContain(objectKeyForSha256(item.sha256));
    expect(await refusal(engineer.datasets.diff({ project: 'shop', from: first!.id, to: second.id, images: true, limit: 101 }))).toMatchObject({ message: expect.stringContaining('limit: at most 100 with images') });

    const removed = await engineer.items.remove({ project: 'shop', sha256: item.sha256 });
    expect(removed).toEqual({ sha256: item.sha256, label: other, split: 'test', source: item.source });
    const gone = await engineer.items.history({ project: 'shop', sha256: item.sha256 });
    expect(gone.workingSet).toBeNull();
    expect(gone.versions.map((v) => v.item)).toEqual([{ label: other, split: 'test' }, { label: item.label, split: item.split }]);
    expect((await engineer.items.browse({ project: 'shop' })).total).toBe(COUNT - 1);

    const { sha256: _, ...back } = removed;
    await engineer.items.restore({ project: 'shop', sha256: item.sha256, ...back, source: item.source });
    expect((await engineer.items.history({ project: 'shop', sha256: item.sha256 })).workingSet).toMatchObject({ label: other, split: 'test', source: item.source });
    expect(await refusal(engineer.items.restore({ project: 'shop', sha256: item.sha256, label: other, split: 'test' }))).toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/^sha256: /) });
    // Undoing the relabel and the move: the next commit has the first version's content, so it is that version.
    await engineer.items.update({ project: 'shop', sha256: item.sha256, label: item.label, split: item.split });
    expect((await engineer.datasets.commit({ project: 'shop', message: 'undone' })).version.id).toBe(first!.id);
  });

  it.skipIf(skip)("answers NOT_FOUND for an item the project never had, also when another project has it", async () => {
    const engineer = await hub.as('engineer');
    const elsewhere = await engineer.items.browse({ project: 'other', pageSize: 1 });
    expect(await refusal(engineer.items.history({ project: 'shop', sha256: elsewhere.items[0]!.sha256 }))).toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/^sha256: /) });
    expect(await refusal(engineer.items.history({ project: 'shop', sha256: 'a'.repeat(64) }))).toMatchObject({ code: 'NOT_FOUND' });
    expect(await refusal(engineer.items.restore({ project: 'shop', sha256: 'a'.repeat(64), label: 'cat', split: 'train' }))).toMatchObject({ code: 'NOT_FOUND' });
    expect(await refusal(engineer.items.restore({ project: 'shop', sha256: elsewhere.items[0]!.sha256, label: 'horse', split: 'train' }))).toMatchObject({ code: 'BAD_REQUEST' });
  });
});
