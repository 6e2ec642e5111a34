/**
 * Beyond one machine, all on loopback: PostgreSQL 15, the S3 API server as its own process, two hub processes and two
 * worker processes sharing them. Devices sync predictions through both hubs while one hub is killed (SIGKILL) and
 * restarted; a training run's worker is killed mid-run and the other worker finishes it; the run is published and
 * promoted while the devices go on. Every event sent is stored once, the run finishes once, one model version comes of
 * the publish, and devices saw only errors they retry (connection refused or reset, 503).
 */
import { sql } from 'drizzle-orm';
import { afterAll, expect, inject, it } from 'vitest';
import { rowsOf } from './db/raw-rows';
import type { Hub } from './hub';
import { QUEUES } from './jobs/job-queue';
import * as channels from './registry/channel.repository';
import * as models from './registry/model-version.repository';
import * as runs from './training/run.repository';
import { type Deployment, createDatabase, startDeployment, trpcMutation } from '../test/deployment-processes';
import { type DeploymentSeed, seedDeployment } from '../test/deployment-seed';
import { predictionEvents, startFleet, syncCall } from '../test/device-sync';

const postgresUrl = inject('postgresUrl');
const DEVICES = 6;
const BATCH = 50;
/** Each device's pause between batches: the load leaves CPU for training on this 2-core machine. */
const PAUSE_MS = 200;
const EPOCHS = 3;

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Polls the run until `done` says so; fails with the run and the processes' logs after `timeoutMs`. */
async function waitForRun(hub: Hub, deployment: Deployment, runId: string, done: (run: runs.Run) => boolean, timeoutMs: number): Promise<runs.Run> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = (await runs.find(hub.deps.db, runId))!;
    if (done(run)) return run;
    if (Date.now() > deadline) {
      const logs = (await runs.recentLogs(hub.deps.db, runId, 50)).map((l) => l.line).join('\n');
      throw new Error(`run ${runId} is ${run.status} (attempt ${run.attempts} on ${run.worker}) after ${timeoutMs} ms:\n${logs}\n${deployment.workers.map((w) => `--- ${w.name}\n${w.log().slice(-4000)}`).join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

it.skipIf(!postgresUrl)(
  'two hubs and two workers on one PostgreSQL and S3: a hub and a worker killed under load lose and duplicate nothing',
  async () => {
    const database = await createDatabase(postgresUrl!);
    cleanups.push(() => database.drop());
    // The shortest staleness allowed: the surviving worker takes the killed one's run back 15 s after its last heartbeat.
    const deployment = await startDeployment({ databaseUrl: database.url, settings: { TRAINING_STALE_AFTER_MS: '15000' } });
    cleanups.push(() => deployment.stop());
    expect(await deployment.migrate()).toMatch(/the database schema is current/);

    const setup = await deployment.openHub();
    const seed: DeploymentSeed = await seedDeployment(setup.deps, { dataset: true });
    const [hubA, hubB] = await Promise.all([deployment.startHub('hub-a'), deployment.startHub('hub-b')]);
    await Promise.all([deployment.startWorker('worker-a'), deployment.startWorker('worker-b')]);

    // Devices: half send as the PWA (tRPC batches), half in bulk; each batch's events are made once, so a retry
    // resends the same ids.
    const sent = new Set<string>();
    const fleet = startFleet({
      hubs: [hubA.url, hubB.url],
      secret: seed.deviceSecret,
      project: seed.project,
      devices: DEVICES,
      routes: ['tRPC', 'bulk'],
      pauseMs: PAUSE_MS,
      batch: (_device, _n, route) => {
        const events = predictionEvents(BATCH, { model: seed.model, version: 1, labels: seed.labels, embeddingSize: 16 });
        for (const event of events) sent.add(event.id);
        return syncCall(route, seed.project, events);
      },
    });
    cleanups.push(async () => {
      fleet.abandon();
      await fleet.done;
    });

    const run = await trpcMutation<{ id: string }>(hubB.url, seed.ciSecret, 'runs.create', { project: seed.project, datasetVersion: seed.datasetVersionId, train: { epochs: EPOCHS, seed: 7 } });

    const killHub = async () => {
      await fleet.whenAcknowledged(20);
      await hubA.kill('SIGKILL');
      await hubA.restart();
    };
    const killTrainingWorker = async () => {
      // Mid-way: the run is training (its data loaded), not yet finished.
      const training = await waitForRun(setup, deployment, run.id, (r) => r.status !== 'queued' && (r.status !== 'running' || r.progress !== null), 120_000);
      expect(training.status, 'the run finished before its worker could be killed: make it longer').toBe('running');
      const worker = deployment.workers.find((w) => w.name === training.worker)!;
      await worker.kill('SIGKILL');
      return worker.name;
    };
    const [, killedWorker] = await Promise.all([killHub(), killTrainingWorker()]);
    const survivor = deployment.workers.find((w) => w.name !== killedWorker)!;

    // The surviving worker hands the silent run's job back to the queue and trains it again.
    const finished = await waitForRun(setup, deployment, run.id, (r) => ['succeeded', 'failed', 'cancelled'].includes(r.status), 240_000);

    // Published and promoted by CI through the restarted hub, while the devices go on.
    const acknowledgedBeforePublish = fleet.acknowledged();
    const published = await deployment.cli(['publish', seed.project, '--run', run.id, '--model', seed.model, '--promote', 'production', '--reason', 'retrained', '--hub', hubA.url, '--token', seed.ciSecret]);
    const acknowledgedDuringPublish = fleet.acknowledged() - acknowledgedBeforePublish;
    await fleet.whenAcknowledged(fleet.acknowledged() + 2 * DEVICES);
    fleet.stop();
    const report = await fleet.done;

    // The devices: only retryable errors, every batch acknowledged with a whole answer, through both hubs.
    expect(report.unexpected).toEqual([]);
    expect(Object.keys(report.retried).filter((kind) => !['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'HTTP 503'].includes(kind))).toEqual([]);
    expect(Object.values(report.retried).reduce((a, b) => a + b, 0), 'the killed hub made devices retry').toBeGreaterThan(0);
    expect(report.perHub[hubA.url]).toBeGreaterThan(0);
    expect(report.perHub[hubB.url]).toBeGreaterThan(0);
    expect(acknowledgedDuringPublish, 'devices synced while the run was published and promoted').toBeGreaterThan(0);
    expect(report.events).toBe(sent.size);
    expect(report.rejected).toBe(0);
    // A hub killed after storing a batch but before answering: its retry reads as duplicates, never stored twice.
    expect(report.inserted).toBeLessThanOrEqual(sent.size);

    // Every event sent is stored, once.
    const stored = await rowsOf<{ id: string }>(setup.deps.db, sql`select id from predictions where project_id = ${seed.projectId}`);
    expect(stored.length).toBe(sent.size);
    expect(stored.filter(({ id }) => !sent.has(id))).toEqual([]);
    expect(new Set(stored.map(({ id }) => id)).size).toBe(sent.size);

    // The run: killed once, finished once by the other worker, its epochs and its success recorded once.
    expect(finished, finished.error ?? '').toMatchObject({ status: 'succeeded', attempts: 2, worker: survivor.name });
    expect(finished.lineage).toMatchObject({ worker: survivor.name, attempt: 2 });
    expect((await runs.epochsOf(setup.deps.db, run.id)).map((e) => e.epoch)).toEqual(Array.from({ length: EPOCHS }, (_, i) => i + 1));
    const logs = (await runs.recentLogs(setup.deps.db, run.id, 1000)).map((l) => l.line);
    expect(logs.filter((line) => line.startsWith('succeeded in'))).toHaveLength(1);
    expect(logs.filter((line) => line.startsWith('attempt '))).toEqual([expect.stringContaining(`attempt 1 on ${killedWorker}`), expect.stringContaining(`attempt 2 on ${survivor.name}`)]);
    const datasetRuns = await rowsOf<{ id: string; status: string }>(setup.deps.db, sql`select id, status from runs where dataset_version_id = ${seed.datasetVersionId}`);
    expect(datasetRuns).toEqual([{ id: run.id, status: 'succeeded' }]);
    const job = await setup.deps.queue.getJobById(QUEUES.train, finished.jobId!);
    expect(job).toMatchObject({ state: 'completed', retryCount: 1 });

    // The publish: one new version (v2, of this run), and production moved to it.
    expect(published.code, published.stderr).toBe(0);
    expect(published.stdout.trim()).toBe('2');
    expect(await models.versionsOfRun(setup.deps.db, run.id)).toEqual([expect.objectContaining({ model: seed.model, version: 2 })]);
    const model = (await models.findModel(setup.deps.db, seed.projectId, seed.model))!;
    expect((await models.listVersions(setup.deps.db, model.id)).map((v) => v.version).sort()).toEqual([1, 2]);
    const production = await channels.find(setup.deps.db, model.id, 'production');
    expect(production?.modelVersionId).toBe((await models.findVersion(setup.deps.db, model.id, 2))!.id);

    // Every process that was not killed is still up, and both hubs (one restarted) reach the database and the S3 process.
    expect(hubA.running() && hubB.running() && survivor.running() && deployment.s3.running()).toBe(true);
    for (const hub of [hubA, hubB]) {
      const ready = await fetch(`${hub.url}/readyz`);
      expect({ status: ready.status, body: await ready.json() }).toEqual({ status: 200, body: { ready: true, checks: { database: 'ok', objectStore: 'ok', migrations: 'ok' } } });
    }
  },
  420_000,
);
