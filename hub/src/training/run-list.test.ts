import { performance } from 'node:perf_hooks';
import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORED_RUN_CONFIGS, publishedVersion } from '../../test/published-version';
import { DATABASES, type TestHub, createTestHub, refusal } from '../../test/test-hub';
import { runEpochs, runs as runsTable } from '../db/schema';
import { getProject } from '../projects/project.service';
import { RUN_STATUSES } from './run.service';
import * as sweeps from './sweep.repository';

/** Runs of the project besides the one publishedVersion writes; several share a creation time, so ties are paged too. */
const RUNS = 1_000;

describe.each(DATABASES)('runs.list pages a thousand runs, $kind', ({ kind, skip }) => {
  let hub: TestHub;
  /** Every run id of the project, newest first (created_at desc, then id desc), as the database orders them. */
  let expected: string[];
  let withEpochs: string;

  beforeAll(async () => {
    if (skip) return;
    hub = await createTestHub(kind);
    const admin = await hub.as('admin');
    await admin.projects.create({ slug: 'pets', labels: ['cat', 'dog'] });
    await admin.projects.create({ slug: 'other', labels: ['cat', 'dog'] });
    await publishedVersion(hub.deps, 'pets', 'pets', 1);
    const { id: projectId } = await getProject(hub.deps, 'pets');
    const [fixture] = await hub.deps.db.select().from(runsTable).where(eq(runsTable.projectId, projectId));
    const base = Date.parse('2026-11-01T00:00:00Z');
    // Pairs of runs share a creation time (i >> 1): the order must still be total and no page may skip one.
    const rows = Array.from({ length: RUNS }, (_, i) => ({
      projectId,
      datasetVersionId: fixture!.datasetVersionId,
      status: RUN_STATUSES[i % RUN_STATUSES.length]!,
      ...STORED_RUN_CONFIGS,
      createdBy: `person-${i % 7}`,
      createdAt: new Date(base + (i >> 1) * 1000),
    }));
    for (let i = 0; i < rows.length; i += 250) await hub.deps.db.insert(runsTable).values(rows.slice(i, i + 250));
    const all = await hub.deps.db.select({ id: runsTable.id, createdAt: runsTable.createdAt }).from(runsTable).where(eq(runsTable.projectId, projectId));
    expected = all.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1)).map((r) => r.id);
    withEpochs = expected[3]!;
    const epoch = (n: number) => ({ runId: withEpochs, epoch: n, loss: 1 / n, accuracy: 0.5 + n / 10, valLoss: 1.1 / n, valAccuracy: 0.4 + n / 10, seconds: 1, imagesPerSecond: 100 * n });
    await hub.deps.db.insert(runEpochs).values([epoch(1), epoch(3), epoch(2)]);
  }, 120_000);
  afterAll(() => hub?.close());

  it.skipIf(skip)('walks every run once, newest first, page by page, and says when the last page is reached', async () => {
    const engineer = await hub.as('engineer');
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await engineer.runs.list({ project: 'pets', limit: 200, ...(cursor ? { cursor } : {}) });
      expect(page.runs.length).toBeLessThanOrEqual(200);
      seen.push(...page.runs.map((r) => r.id));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(Math.ceil((RUNS + 1) / 200));
    expect(seen).toEqual(expected);
  });

  it.skipIf(skip)('filters by status on the server and counts every status whatever the filter', async () => {
    const engineer = await hub.as('engineer');
    const page = await engineer.runs.list({ project: 'pets', status: 'failed', limit: 50 });
    expect(page.runs.length).toBe(50);
    expect(new Set(page.runs.map((r) => r.status))).toEqual(new Set(['failed']));
    expect(page.counts).toEqual({ queued: 200, running: 200, succeeded: 201, failed: 200, cancelled: 200 });
    const rest = await engineer.runs.list({ project: 'pets', status: 'failed', limit: 200, cursor: page.nextCursor! });
    expect(rest.runs.length).toBe(150);
    expect(rest.nextCursor).toBeNull();
    expect((await engineer.runs.list({ project: 'other' })).counts).toEqual({ queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 });
  });

  it.skipIf(skip)("lists one sweep's runs, with the sweep's own counts", async () => {
    const engineer = await hub.as('engineer');
    const { id: projectId } = await getProject(hub.deps, 'pets');
    const sweep = await sweeps.create(hub.deps.db, { projectId, strategy: 'grid', space: { seed: [1, 2, 3, 4, 5, 6, 7] }, metric: 'valAccuracy', createdBy: 'test' });
    const members = expected.slice(100, 107);
    await hub.deps.db.update(runsTable).set({ sweepId: sweep.id }).where(inArray(runsTable.id, members));
    const page = await engineer.runs.list({ project: 'pets', sweepId: sweep.id, limit: 5 });
    expect(page.runs.map((r) => r.id)).toEqual(members.slice(0, 5));
    expect(Object.values(page.counts).reduce((a, b) => a + b, 0)).toBe(7);
    const rest = await engineer.runs.list({ project: 'pets', sweepId: sweep.id, limit: 5, cursor: page.nextCursor! });
    expect(rest).toMatchObject({ runs: members.slice(5).map((id) => ({ id, sweepId: sweep.id })), nextCursor: null });
    await hub.deps.db.update(runsTable).set({ sweepId: null }).where(inArray(runsTable.id, members));
  });

  it.skipIf(skip)("shows each run's validation metrics from its last epoch, read for the whole page at once", async () => {
    const engineer = await hub.as('engineer');
    const { runs } = await engineer.runs.list({ project: 'pets', limit: 10 });
    const run = runs.find((r) => r.id === withEpochs)!;
    expect(run.metrics.valAccuracy).toBeCloseTo(0.7);
    expect(run.metrics.valLoss).toBeCloseTo(1.1 / 3);
    expect(runs.filter((r) => r.id !== withEpochs).every((r) => r.metrics.valAccuracy === undefined)).toBe(true);
  });

  it.skipIf(skip)('refuses a page size or cursor out of bounds, naming the field and what is valid', async () => {
    const engineer = await hub.as('engineer');
    expect(await refusal(engineer.runs.list({ project: 'pets', limit: 0 }))).toEqual({ code: 'BAD_REQUEST', message: 'limit: limit must be at least 1' });
    expect(await refusal(engineer.runs.list({ project: 'pets', limit: 201 }))).toEqual({ code: 'BAD_REQUEST', message: 'limit: limit must be at most 200' });
    expect(await refusal(engineer.runs.list({ project: 'pets', cursor: 'page-2' }))).toEqual({
      code: 'BAD_REQUEST',
      message: 'cursor: cursor must be the nextCursor of the page before (a run id)',
    });
    expect(await refusal(engineer.runs.list({ project: 'pets', status: 'paused' as 'queued' }))).toEqual({
      code: 'BAD_REQUEST',
      message: `status: status must be one of: ${RUN_STATUSES.join(', ')}`,
    });
    // A run of another project is no cursor of this one.
    const otherRun = expected[0]!;
    expect(await refusal(engineer.runs.list({ project: 'other', cursor: otherRun }))).toEqual({
      code: 'BAD_REQUEST',
      message: `cursor: project "other" has no run ${otherRun}; start again from the first page (no cursor)`,
    });
  });

  it.skipIf(skip)('answers a first and a deep page in p95 < 300 ms', async () => {
    const engineer = await hub.as('engineer');
    const deep = expected[800]!;
    // One call each way first: the first query of a shape is planned, later ones reuse it.
    await engineer.runs.list({ project: 'pets', limit: 50 });
    await engineer.runs.list({ project: 'pets', limit: 50, cursor: deep });
    const times: number[] = [];
    for (let i = 0; i < 40; i++) {
      const started = performance.now();
      await engineer.runs.list({ project: 'pets', limit: 50, ...(i % 2 ? { cursor: deep } : {}) });
      times.push(performance.now() - started);
    }
    const p95 = times.sort((a, b) => a - b)[Math.ceil(times.length * 0.95) - 1]!;
    console.log(`runs.list, ${RUNS + 1} runs, pages of 50 (${kind}): p95 ${p95.toFixed(1)} ms, median ${times[20]!.toFixed(1)} ms`);
    expect(p95).toBeLessThan(300);
  });
});
