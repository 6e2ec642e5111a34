import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORED_RUN_CONFIGS, publishedVersion } from '../../test/published-version';
import { type TestHub, createTestHub } from '../../test/test-hub';
import { runs as runsTable } from '../db/schema';
import { StoredDataError } from '../db/stored-json';
import { getRun, listRuns } from './run.service';
import { checkedEvaluations, runTrainingJob } from './training.job';

const evaluation = { count: 1, accuracy: 1, loss: 0.1, confusion: [[1, 0], [0, 0]], perClass: [], ece: 0.05, calibration: [] };

describe('runs read back through their contracts', () => {
  let hub: TestHub;
  let runId: string;
  beforeAll(async () => {
    hub = await createTestHub('pglite');
    await (await hub.as('admin')).projects.create({ slug: 'pets', labels: ['cat', 'dog'] });
    await publishedVersion(hub.deps, 'pets', 'pets', 1);
    [{ id: runId }] = (await hub.deps.db.select({ id: runsTable.id }).from(runsTable)) as [{ id: string }];
  });
  afterAll(() => hub?.close());

  const setColumn = (column: 'model_config' | 'train_config' | 'lineage' | 'evaluation' | 'progress', json: string) =>
    hub.deps.db.execute(sql`update runs set ${sql.identifier(column)} = ${json}::jsonb where id = ${runId}`);

  it('gives the stored configs and evaluation their types', async () => {
    await setColumn('evaluation', JSON.stringify({ float32: evaluation }));
    const run = await getRun(hub.deps, runId);
    expect(run.model).toEqual(STORED_RUN_CONFIGS.modelConfig);
    expect(run.train.maxQuantizationDrop).toBe(0.5);
    expect(run.evaluation?.float32?.accuracy).toBe(1);
    expect(run.metrics).toEqual({ testAccuracy: 1, testEce: 0.05 });
  });

  it('reads a row written before the learning-rate schedule as it trained then (constant), not with the default a new run gets', async () => {
    const { learningRateSchedule: _schedule, augmentation: _augmentation, ...beforeSchedules } = STORED_RUN_CONFIGS.trainConfig;
    const { dropout: _dropout, ...beforeDropout } = STORED_RUN_CONFIGS.modelConfig;
    await setColumn('train_config', JSON.stringify(beforeSchedules));
    await setColumn('model_config', JSON.stringify(beforeDropout));
    const run = await getRun(hub.deps, runId);
    expect(run.train).toEqual({ ...beforeSchedules, learningRateSchedule: 'constant', augmentation: 'none' });
    expect(run.model).toEqual({ ...beforeDropout, dropout: 0 });
    await setColumn('train_config', JSON.stringify(STORED_RUN_CONFIGS.trainConfig));
    await setColumn('model_config', JSON.stringify(STORED_RUN_CONFIGS.modelConfig));
  });

  it('gives stored progress its type, and reads a progress that does not match the contract as none (it is display only)', async () => {
    const progress = { epoch: 2, epochs: 15, step: 40, steps: 469, loss: 0.41, imagesPerSecond: 2100 };
    await setColumn('progress', JSON.stringify(progress));
    expect((await getRun(hub.deps, runId)).progress).toEqual(progress);
    await setColumn('progress', JSON.stringify({ epoch: 'two' }));
    expect((await getRun(hub.deps, runId)).progress).toBeNull();
    expect((await listRuns(hub.deps, { project: 'pets', limit: 10 })).runs[0]?.progress).toBeNull();
    await setColumn('progress', 'null');
  });

  it('refuses an old or garbled row with an error naming the run and the column', async () => {
    await setColumn('model_config', JSON.stringify({ architecture: 'vgg', numClasses: 2 }));
    const refused = await getRun(hub.deps, runId).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(StoredDataError);
    expect((refused as Error).message).toBe(
      `run ${runId} model_config does not match its contract (architecture: architecture must be one of: reference-cnn, mobilenet); the row predates it or was changed outside the hub`,
    );
    await setColumn('model_config', JSON.stringify(STORED_RUN_CONFIGS.modelConfig));

    await setColumn('evaluation', JSON.stringify({ float32: { ...evaluation, accuracy: null } }));
    await expect(listRuns(hub.deps, { project: 'pets', limit: 10 })).rejects.toThrow(`run ${runId} evaluation does not match its contract (float32.accuracy: `);
    await setColumn('evaluation', 'null');
    await setColumn('lineage', JSON.stringify({ worker: 'w' }));
    await expect(getRun(hub.deps, runId)).rejects.toThrow(new RegExp(`^run ${runId} lineage does not match its contract \\(gitCommit: `));
  });

  it('fails a queued run whose stored config no reader can use, saying why, instead of leaving it queued', async () => {
    await setColumn('train_config', JSON.stringify({ epochs: 'many' }));
    await hub.deps.db.execute(sql`update runs set status = 'queued' where id = ${runId}`);
    expect(await runTrainingJob(hub.deps, runId, 'worker-1')).toBe('failed');
    const [stored] = await hub.deps.db.select({ status: runsTable.status, error: runsTable.error }).from(runsTable).where(sql`id = ${runId}`);
    expect(stored?.status).toBe('failed');
    expect(stored?.error).toMatch(new RegExp(`^run ${runId} train_config does not match its contract \\(`));

    // A redelivered job for a run that already finished leaves its outcome alone.
    await hub.deps.db.execute(sql`update runs set status = 'succeeded', error = null where id = ${runId}`);
    expect(await runTrainingJob(hub.deps, runId, 'worker-1')).toBe('skipped');
    const [finished] = await hub.deps.db.select({ status: runsTable.status, error: runsTable.error }).from(runsTable).where(sql`id = ${runId}`);
    expect(finished).toEqual({ status: 'succeeded', error: null });
    await setColumn('train_config', JSON.stringify(STORED_RUN_CONFIGS.trainConfig));
  });

  it("refuses a training thread's garbled result before anything is stored", () => {
    expect(checkedEvaluations({ float32: evaluation })).toEqual({ float32: evaluation });
    expect(() => checkedEvaluations({ float32: { ...evaluation, confusion: 'none' } })).toThrow(
      /^the training threads sent evaluations that do not match their contract: float32\.confusion: /,
    );
    // float32 rounding (a softmax of 1.0000001) must not fail a run after its training: the values are stored as they come.
    const rounded = { ...evaluation, loss: -1.1920928955078125e-7, calibration: [{ confidence: 1.0000001192092896, accuracy: 1, count: 1 }] };
    expect(checkedEvaluations({ float32: rounded })).toEqual({ float32: rounded });
    expect(() => checkedEvaluations(undefined)).toThrow(/^the training threads sent evaluations that do not match their contract: /);
  });
});
