import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, type TestHub, createTestHub, refusal } from '../../test/test-hub';
import { TINY_MODEL_CONFIG, publishTinyVersion } from '../../test/tiny-model-version';
import { waitForRun } from '../../test/training-helpers';
import { startTrainingWorker } from './training-worker';

/** The tiny reference CNN's fields as runs.create takes them (numClasses comes from the project). */
const { architecture, filters, denseUnits, dropout } = TINY_MODEL_CONFIG as Extract<typeof TINY_MODEL_CONFIG, { architecture: 'reference-cnn' }>;
const TINY = { architecture, filters, denseUnits, dropout };

describe.each(DATABASES)('warm start on $kind', ({ kind, skip }) => {
  let hub: TestHub;
  let versionId: string;
  /** A succeeded run of the tiny model, trained in-process for a few epochs: the run to start from. */
  let pretrained: Awaited<ReturnType<typeof publishTinyVersion>>;

  beforeAll(async () => {
    if (skip) return;
    hub = await createTestHub(kind);
    // A small dataset version and a run of the tiny model trained on it in-process (published too: still a succeeded run).
    pretrained = await publishTinyVersion(hub, { project: 'fashion', model: 'tiny', counts: { train: 800, val: 0, test: 100 }, epochs: 6 });
    versionId = pretrained.datasetVersionId;
  }, 60_000);
  afterAll(() => hub?.close());

  it.skipIf(skip)('refuses a run to start from that is unknown, of another project, not succeeded, or of another model config, naming the field and why', async () => {
    const engineer = await hub.as('engineer');
    const create = (initFromRun: string, model: Record<string, unknown> = TINY) => engineer.runs.create({ project: 'fashion', datasetVersion: versionId, model, train: { epochs: 1, initFromRun } });

    const unknown = crypto.randomUUID();
    expect(await refusal(create(unknown))).toEqual({ code: 'BAD_REQUEST', message: `train.initFromRun: project "fashion" has no run ${unknown}` });
    expect(await refusal(create('not-a-run'))).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/initFromRun.*initFromRun must be the id of a succeeded run/) });

    const other = await publishTinyVersion(hub, { project: 'other', model: 'tiny', counts: { train: 20, val: 0, test: 10 }, epochs: 1 });
    expect(await refusal(create(other.runId))).toEqual({ code: 'BAD_REQUEST', message: `train.initFromRun: project "fashion" has no run ${other.runId}` });

    const queued = await engineer.runs.create({ project: 'fashion', datasetVersion: versionId, model: TINY, train: { epochs: 1 } });
    expect(await refusal(create(queued.id))).toEqual({ code: 'BAD_REQUEST', message: `train.initFromRun: run ${queued.id} is queued; a warm start needs a succeeded run` });
    await engineer.runs.cancel({ runId: queued.id });

    expect(await refusal(create(pretrained.runId, { ...TINY, denseUnits: 64 }))).toEqual({
      code: 'BAD_REQUEST',
      message: `train.initFromRun: run ${pretrained.runId} has another model config (denseUnits 32; this run: denseUnits 64); a warm start needs the same model config`,
    });
  });

  it.skipIf(skip)("trains from that run's weights: the first epoch is far more accurate than a cold start's, and the lineage says where it started", async () => {
    const engineer = await hub.as('engineer');
    const worker = await startTrainingWorker(hub.deps, { name: 'warm-worker' });
    try {
      const cold = await engineer.runs.create({ project: 'fashion', datasetVersion: versionId, model: TINY, train: { epochs: 1, seed: 4 } });
      const warm = await engineer.runs.create({ project: 'fashion', datasetVersion: versionId, model: TINY, train: { epochs: 1, seed: 4, initFromRun: pretrained.runId } });
      expect(warm.train.initFromRun).toBe(pretrained.runId);
      const [coldDone, warmDone] = [await waitForRun(hub, cold.id, ['succeeded', 'failed']), await waitForRun(hub, warm.id, ['succeeded', 'failed'])];
      expect(coldDone.status, coldDone.error ?? '').toBe('succeeded');
      expect(warmDone.status, warmDone.error ?? '').toBe('succeeded');
      const [coldFirst, warmFirst] = [coldDone.epochs[0]!.accuracy, warmDone.epochs[0]!.accuracy];
      expect(warmFirst, `first-epoch train accuracy: warm ${warmFirst}, cold ${coldFirst}`).toBeGreaterThan(coldFirst + 0.15);
      expect(warmDone.lineage).toMatchObject({ initFromRun: pretrained.runId });
      expect(coldDone.lineage).toMatchObject({ initFromRun: null });
      expect(warmDone.logs.some((l) => l.line.startsWith(`warm start: the float32 weights of run ${pretrained.runId}`))).toBe(true);
    } finally {
      await worker.stop();
    }
  }, 120_000);
});
