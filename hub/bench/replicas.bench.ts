/**
 * `npm run bench`: device sync through hub replicas. One PostgreSQL 15 database and the S3 API server as its own
 * process; hub processes (`edgeloop serve`) and a worker process (`edgeloop worker`) as a deployment runs them
 * (hub/test/deployment-processes.ts). Devices send SyncPath batches of BATCH predictions (128-value embeddings,
 * top-5), CLIENTS at once, each one batch at a time; with two hubs each device's batches go to each hub in turn (a
 * load balancer's round robin). Measured: events/s and p95 per call through
 *   - one hub (the baseline, measured in the same run),
 *   - two hubs on the same database,
 *   - each again while a training run goes on in the worker (the reference CNN on the 2,500-image sample).
 * Beside each figure, where the CPU went meanwhile (from /proc): the hubs, PostgreSQL's processes, the worker, the
 * devices (this process), the S3 server; with the machine's cores, that says what limits the figure.
 * Each measurement is the median of REPLICAS_BENCH_REPEATS runs (default 3) of REPLICAS_BENCH_EVENTS events
 * (default 24,000); REPLICAS_BENCH_PATH=bulk sends POST /v1/feedback/predictions instead of the PWA's tRPC batches.
 */
import fs from 'node:fs';
import os from 'node:os';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../src/db/raw-rows';
import * as runs from '../src/training/run.repository';
import { cancelRun } from '../src/training/run.service';
import { createDatabase, processCpuSeconds, startDeployment, trpcMutation } from '../test/deployment-processes';
import { seedDeployment } from '../test/deployment-seed';
import { type FleetReport, type SyncCall, type SyncPath, batches, p95, predictionEvents, startFleet, syncCall } from '../test/device-sync';
import { postgresInstalled, startPostgresCluster } from '../test/postgres-cluster';
import { machineLine, printTable } from './bench-setup';

const REPEATS = Number(process.env.REPLICAS_BENCH_REPEATS ?? 3);
const PATH = (process.env.REPLICAS_BENCH_PATH ?? 'tRPC') as SyncPath;
const BATCH = 500;
const CLIENTS = 8;
/** Each device sends the same number of batches: the events asked for, rounded down to a multiple of BATCH x CLIENTS. */
const PER_DEVICE = Math.max(1, Math.floor(Number(process.env.REPLICAS_BENCH_EVENTS ?? 24_000) / BATCH / CLIENTS));
const EVENTS = PER_DEVICE * BATCH * CLIENTS;
const EMBEDDING_SIZE = 128;

/** CPU seconds so far, by where they are spent. */
interface CpuReading {
  hubs: number;
  postgres: number;
  worker: number;
  devices: number;
  s3: number;
  /** The whole machine's busy CPU seconds (anything else running included), and its seconds waiting on disk. */
  machine: number;
  iowait: number;
}

/** The machine's busy and iowait CPU seconds so far, from /proc/stat (zeros where there is none). */
function machineCpu(): { machine: number; iowait: number } {
  try {
    const [user, nice, system, , iowait, irq, softirq, steal] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    return { machine: (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) / 100, iowait: iowait! / 100 };
  } catch {
    return { machine: 0, iowait: 0 };
  }
}

interface Measured {
  report: FleetReport;
  cpu: CpuReading;
  /** Training images/s during the measurement, from the steps the run's progress moved by (null: no training). */
  trainingImagesPerSecond: number | null;
}

async function main(): Promise<void> {
  if (!postgresInstalled()) {
    console.log('replicas: PostgreSQL 15 is not installed (apt-get install postgresql): nothing to measure');
    return;
  }
  console.log(
    `device sync through hub replicas: ${EVENTS.toLocaleString('en')} predictions per measurement (${EMBEDDING_SIZE}-d embeddings, top-5), ${PATH} batches of ${BATCH}, ${CLIENTS} devices at once; median of ${REPEATS} runs`,
  );
  console.log(`${machineLine()}\n`);
  const cluster = await startPostgresCluster();
  const database = await createDatabase(cluster.url, 'edgeloop_bench');
  const deployment = await startDeployment({ databaseUrl: database.url, logLevel: 'warn' });
  const rows: string[][] = [];
  try {
    await deployment.migrate();
    const setup = await deployment.openHub();
    const seed = await seedDeployment(setup.deps, { dataset: true });
    const [hubA, hubB] = await Promise.all([deployment.startHub('hub-a'), deployment.startHub('hub-b')]);
    const worker = await deployment.startWorker('worker-a');

    const postgresPids = async () => (await rowsOf<{ pid: number }>(setup.deps.db, sql`select pid from pg_stat_activity`)).map((r) => r.pid);
    const cpuNow = async (): Promise<{ reading: CpuReading; pg: Map<number, number> }> => {
      const pg = new Map<number, number>();
      for (const pid of await postgresPids()) pg.set(pid, processCpuSeconds(pid) ?? 0);
      const { user, system } = process.cpuUsage();
      return {
        pg,
        reading: { hubs: (hubA.cpuSeconds() ?? 0) + (hubB.cpuSeconds() ?? 0), postgres: 0, worker: worker.cpuSeconds() ?? 0, devices: (user + system) / 1e6, s3: deployment.s3.cpuSeconds() ?? 0, ...machineCpu() },
      };
    };
    const cpuSince = (before: Awaited<ReturnType<typeof cpuNow>>, after: Awaited<ReturnType<typeof cpuNow>>): CpuReading => {
      let postgres = 0;
      for (const [pid, seconds] of after.pg) postgres += seconds - (before.pg.get(pid) ?? 0);
      const r = (k: keyof CpuReading) => after.reading[k] - before.reading[k];
      return { hubs: r('hubs'), postgres, worker: r('worker'), devices: r('devices'), s3: r('s3'), machine: r('machine'), iowait: r('iowait') };
    };

    /** Training steps the run has taken so far, as its progress (written about once a second) says. */
    const trainingSteps = async (runId: string) => {
      const progress = (await runs.find(setup.deps.db, runId))!.progress;
      return progress ? (progress.epoch - 1) * progress.steps + progress.step : 0;
    };

    /** One measurement: fresh events (made before the clock), an empty predictions table, the devices through `hubs`. */
    const measure = async (hubs: string[], trainingRun: string | null): Promise<Measured> => {
      const calls: SyncCall[] = batches(predictionEvents(EVENTS, { model: seed.model, version: 1, labels: seed.labels, embeddingSize: EMBEDDING_SIZE }), BATCH).map((events) =>
        syncCall(PATH, seed.project, events),
      );
      await setup.deps.db.execute(sql`truncate predictions cascade`);
      const stepsBefore = trainingRun ? await trainingSteps(trainingRun) : 0;
      const before = await cpuNow();
      const fleet = startFleet({
        hubs,
        secret: seed.deviceSecret,
        project: seed.project,
        devices: CLIENTS,
        routes: [PATH],
        batchesPerDevice: PER_DEVICE,
        batch: (d, n) => calls[d * PER_DEVICE + n]!,
      });
      const report = await fleet.done;
      const cpu = cpuSince(before, await cpuNow());
      const stored = (await rowsOf<{ count: number }>(setup.deps.db, sql`select count(*)::int as count from predictions`))[0]!.count;
      if (report.unexpected.length || report.events !== EVENTS || stored !== EVENTS) {
        throw new Error(`sent ${EVENTS}, acknowledged ${report.events}, stored ${stored}: ${report.unexpected.slice(0, 3).join('; ')}`);
      }
      let trainingImagesPerSecond: number | null = null;
      if (trainingRun) {
        const run = (await runs.find(setup.deps.db, trainingRun))!;
        trainingImagesPerSecond = ((await trainingSteps(trainingRun)) - stepsBefore) * run.trainConfig.batchSize / report.seconds;
      }
      return { report, cpu, trainingImagesPerSecond };
    };

    const scenarios: { label: string; hubs: string[] }[] = [
      { label: '1 hub', hubs: [hubA.url] },
      { label: '2 hubs', hubs: [hubA.url, hubB.url] },
    ];
    const results = new Map<string, Measured>();
    const runScenarios = async (suffix: string, trainingRun: string | null) => {
      // The scenarios take turns, so both meet the machine's moods; the run of median duration counts.
      const measured = new Map<string, Measured[]>(scenarios.map((s) => [s.label, []]));
      for (let repeat = 0; repeat < REPEATS; repeat++) {
        for (const scenario of scenarios) measured.get(scenario.label)!.push(await measure(scenario.hubs, trainingRun));
      }
      for (const scenario of scenarios) {
        const sorted = measured.get(scenario.label)!.sort((a, b) => a.report.seconds - b.report.seconds);
        results.set(`${scenario.label}${suffix}`, sorted[Math.floor(sorted.length / 2)]!);
        console.log(`${scenario.label}${suffix}: done`);
      }
    };

    await runScenarios('', null);

    // A training run that outlasts the measurements: queued through a hub, taken by the worker, training before the clock starts.
    const run = await trpcMutation<{ id: string }>(hubA.url, seed.ciSecret, 'runs.create', { project: seed.project, datasetVersion: seed.datasetVersionId, train: { epochs: 500, seed: 7 } });
    for (;;) {
      const current = (await runs.find(setup.deps.db, run.id))!;
      if (current.status === 'running' && current.progress) break;
      if (!['queued', 'running'].includes(current.status)) throw new Error(`the training run is ${current.status}: ${current.error}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await runScenarios(' + training', run.id);
    await cancelRun(setup.deps, { tokenId: null, name: 'bench', role: 'admin', projects: null }, run.id);

    const baseline = results.get('1 hub')!;
    const cores = os.cpus().length;
    for (const [label, m] of results) {
      const rate = EVENTS / m.report.seconds;
      const busy = (seconds: number) => (seconds / m.report.seconds).toFixed(2);
      const total = m.cpu.hubs + m.cpu.postgres + m.cpu.worker + m.cpu.devices + m.cpu.s3;
      rows.push([
        label,
        Math.round(rate).toLocaleString('en'),
        p95(m.report.latenciesMs).toFixed(0),
        (rate / (EVENTS / baseline.report.seconds)).toFixed(2),
        Math.round(EVENTS / (m.cpu.hubs + m.cpu.postgres)).toLocaleString('en'),
        busy(m.cpu.hubs),
        busy(m.cpu.postgres),
        busy(m.cpu.worker),
        busy(m.cpu.devices),
        busy(total),
        `${busy(m.cpu.machine)} of ${cores}`,
        busy(m.cpu.iowait),
        m.trainingImagesPerSecond === null ? '' : Math.round(m.trainingImagesPerSecond).toLocaleString('en'),
      ]);
    }
  } finally {
    await deployment.stop();
    await database.drop();
    cluster.stop();
  }
  printTable(
    ['setup', 'events/s', 'p95 ms per call', 'x 1 hub', 'events per CPU-s (hubs + PostgreSQL)', 'hubs', 'PostgreSQL', 'worker', 'devices', 'all of these', 'machine busy', 'iowait', 'training img/s'],
    rows,
  );
  console.log('\nx 1 hub: events/s over the 1-hub figure (no training) of this run');
  console.log('hubs ... iowait: cores, i.e. CPU seconds over the measurement\'s seconds. hubs: the hub processes (HTTP, JSON, token, checks, COPY, their monitor');
  console.log('  workers); PostgreSQL: its server processes; devices: the sending clients (this process); machine busy: every process on the machine,');
  console.log('  whatever else runs too; iowait: CPU time idle while waiting on the disk (commits). events per CPU-s: what the machine\'s other load does not move');
  console.log('training: the worker trains the reference CNN (225k weights) on the 2,500-image sample meanwhile; img/s from the steps its progress (written about once a second) moved by during the measurement');
}

await main();
