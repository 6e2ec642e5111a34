/**
 * The triggers that start runs by themselves, on real PGlite / PostgreSQL 15 and pg-boss: enough new reviews since the
 * channel's last run, an alert open long enough on the champion's stream (once per alert), a project's cron schedule;
 * none while a run of the channel is running.
 */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testAlertExplanation } from '../../test/feedback-fixtures';
import { publishedVersion } from '../../test/published-version';
import { DATABASES, type TestHub, createTestHub, refusal } from '../../test/test-hub';
import { channels, corrections, modelVersions, predictions, registeredModels } from '../db/schema';
import type { Caller } from '../deps';
import { pipelineScheduleQueue } from '../jobs/job-queue';
import * as alerts from '../monitoring/alert.repository';
import * as streams from '../monitoring/monitor-stream.repository';
import { getProject } from '../projects/project.service';
import { checkProjectTriggers, runScheduledTriggers, savePipelineSettings } from './pipeline-trigger.service';
import { cancelPipelineRun, listPipelineRuns } from './pipeline.service';

const PROJECT = 'trig';
const engineer: Caller = { tokenId: null, name: 'test-engineer', role: 'engineer', projects: null };

describe.each(DATABASES)('pipeline triggers, $kind', ({ kind, skip }) => {
  let hub: TestHub;
  let projectId: string;
  let championId: string;
  beforeAll(async () => {
    if (skip) return;
    hub = await createTestHub(kind);
    await (await hub.as('admin')).projects.create({ slug: PROJECT, labels: ['cat', 'dog'] });
    await publishedVersion(hub.deps, PROJECT, 'mdl', 1);
    projectId = (await getProject(hub.deps, PROJECT)).id;
    const [model] = (await hub.deps.db.select().from(registeredModels)).filter((m) => m.projectId === projectId);
    const [version] = (await hub.deps.db.select().from(modelVersions)).filter((v) => v.modelId === model!.id);
    championId = version!.id;
    await hub.deps.db.insert(channels).values({ modelId: model!.id, name: 'production', modelVersionId: championId, movedBy: 'test', movedAt: new Date() });
  });
  afterAll(() => hub?.close());

  /** `n` labels people gave predictions of the champion, received by the hub at `at`. */
  async function labels(n: number, at: Date) {
    for (let i = 0; i < n; i++) {
      const id = crypto.randomUUID();
      await hub.deps.db.insert(predictions).values({
        id,
        projectId,
        modelVersionId: championId,
        label: 'cat',
        confidence: 0.6,
        topK: [{ label: 'cat', probability: 0.6 }],
        embedding: Buffer.alloc(8),
        backend: 'wasm',
        latencyMs: 3,
        source: 'camera',
        sentBy: 'device',
        createdAt: at,
        receivedAt: at,
      });
      await hub.deps.db.insert(corrections).values({ id: crypto.randomUUID(), predictionId: id, label: 'dog', labeledBy: 'labeler', createdAt: at, receivedAt: at });
    }
  }

  const check = (minutesFromNow = 0) => checkProjectTriggers({ ...hub.deps, now: () => new Date(Date.now() + minutesFromNow * 60_000) }, { id: projectId, slug: PROJECT });

  it.skipIf(skip)('starts a run when enough labels came since the last run of the channel, and not while one runs', async () => {
    await savePipelineSettings(hub.deps, engineer, { project: PROJECT, settings: { triggers: { alertOpenMinutes: null, newReviews: 10 } } });
    await labels(9, new Date(Date.now() - 60_000));
    expect(await check()).toMatchObject({ started: null, note: 'no trigger is due' });
    await labels(1, new Date(Date.now() - 60_000));
    const first = await check();
    expect(first.started).toMatchObject({ trigger: 'reviews', status: 'running', model: 'mdl', channel: 'production', championVersion: 1 });
    expect(first.started!.triggerDetail).toMatch(/^10 new reviews \(threshold 10\) since the start$/);
    // While it runs, more labels start nothing.
    await labels(10, new Date());
    expect(await check()).toMatchObject({ started: null, note: `run ${first.started!.id} is running` });
    await cancelPipelineRun(hub.deps, engineer, first.started!.id);
    // The labels that came after the run started count towards the next one, those before do not.
    const second = await check();
    expect(second.started).toMatchObject({ trigger: 'reviews' });
    expect(second.started!.triggerDetail).toMatch(/^10 new reviews \(threshold 10\) since \d{4}-/);
    await cancelPipelineRun(hub.deps, engineer, second.started!.id);
    expect(await check()).toMatchObject({ started: null });
  });

  it.skipIf(skip)('starts one run per alert open long enough on the champion stream', async () => {
    await savePipelineSettings(hub.deps, engineer, { project: PROJECT, settings: { triggers: { alertOpenMinutes: 30, newReviews: null } } });
    const stream = await streams.getOrCreate(hub.deps.db, { projectId, modelVersionId: championId, channel: 'production' });
    const alert = await alerts.openAlert(hub.deps.db, { projectId, streamId: stream.id, detector: 'classMix', at: new Date(), event: 100, statistic: 20, threshold: 10, explanation: testAlertExplanation });
    // Open 29 minutes: not yet.
    expect(await check(29)).toMatchObject({ started: null });
    const started = (await check(31)).started!;
    expect(started).toMatchObject({ trigger: 'alert', model: 'mdl' });
    expect(started.triggerDetail).toBe(`alert ${alert.id} (classMix) open 31 min on v1`);
    await cancelPipelineRun(hub.deps, engineer, started.id);
    // The same alert, still open, starts no second run.
    expect(await check(60)).toMatchObject({ started: null, note: 'no trigger is due' });
    const runs = await listPipelineRuns(hub.deps, { project: PROJECT, limit: 50, offset: 0 });
    expect(runs.runs.filter((r) => r.trigger === 'alert')).toHaveLength(1);
    await alerts.resolveAlert(hub.deps.db, alert.id, new Date());
  });

  it.skipIf(skip)('keeps a pg-boss schedule per project in step with the settings, and starts a run from its job', async () => {
    await savePipelineSettings(hub.deps, engineer, { project: PROJECT, settings: { triggers: { alertOpenMinutes: null, newReviews: null, schedule: '0 3 * * *' } } });
    const queue = pipelineScheduleQueue(projectId);
    expect((await hub.deps.queue.getSchedules()).filter((s) => s.name === queue).map((s) => s.cron)).toEqual(['0 3 * * *']);
    // What the cron sends at 03:00, sent now.
    await hub.deps.queue.send(queue, { project: PROJECT });
    const [run] = await runScheduledTriggers(hub.deps);
    expect(run).toMatchObject({ trigger: 'schedule', triggerDetail: 'cron 0 3 * * * (UTC)' });
    await cancelPipelineRun(hub.deps, engineer, run!.id);
    expect(await runScheduledTriggers(hub.deps)).toEqual([]);

    // A cron the scheduler cannot keep is refused, naming the field; nothing is saved.
    const refused = await refusal((await hub.as('engineer')).pipeline.settings.set({ project: PROJECT, settings: { triggers: { schedule: '99 * * * *' } } }));
    expect(refused).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/^settings\.triggers\.schedule: "99 \* \* \* \*" is not a schedule/) });
    expect((await (await hub.as('engineer')).pipeline.settings.get({ project: PROJECT })).settings.triggers.schedule).toBe('0 3 * * *');

    await savePipelineSettings(hub.deps, engineer, { project: PROJECT, settings: { triggers: { schedule: null } } });
    expect((await hub.deps.queue.getSchedules()).filter((s) => s.name === queue)).toEqual([]);
  });
});
