/**
 * Dashboard reads at a million events: a stream's points and rollups as a million processed events leave them (a point
 * per detector every 10 events: 300,000 rows; a minute bucket for each of the last 24 h), then monitoring.state and
 * .series timed. Neither reads predictions, so their rows are not needed for the measure.
 */
async function dashboardReads(deps: Parameters<typeof processStream>[0], projectId: string, modelVersionId: string): Promise<string[]> {
  const stream = await streams.getOrCreate(deps.db, { projectId, modelVersionId, channel: 'staging' });
  const now = Date.now();
  const EVENTS_STORED = 1_000_000;
  for (const detector of ['classMix', 'confidence', 'embedding']) {
    for (let start = 0; start < EVENTS_STORED / 10; start += 20_000) {
      const batch = Array.from({ length: 20_000 }, (_, i) => {
        const k = start + i;
        return { detector, eventIndex: (k + 1) * 10, at: new Date(now - 24 * 3600_000 + (k * 24 * 3600_000) / (EVENTS_STORED / 10)), value: Math.abs(Math.sin(k / 500)) * 10, threshold: 8 };
      });
      await points.insertPoints(deps.db, stream.id, batch);
    }
  }
  const minute = 60_000;
  const buckets = Array.from({ length: 1440 }, (_, i) => ({
    bucket: new Date(Math.floor(now / minute) * minute - i * minute),
    events: 694,
    classCounts: Array.from({ length: 10 }, () => 69),
    lowConfidence: 100,
    expectedCorrect: 600,
    confidenceHistogram: Array.from({ length: 20 }, () => 34),
    latencyHistogram: Array.from({ length: 32 }, (_, b) => (b === 5 ? 694 : 0)),
    backends: { webgpu: 600, wasm: 94 },
    appVersions: { '1.4.0': 694 },
    devices: Object.fromEntries(Array.from({ length: 20 }, (_, d) => [`device-${(i + d) % 500}`, 34])),
  }));
  for (let i = 0; i < buckets.length; i += 500) await rollups.addRollups(deps.db, stream.id, buckets.slice(i, i + 500));
  const time = async (call: () => Promise<unknown>) => {
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      await call();
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return `${times[10]!.toFixed(0)} / ${times[18]!.toFixed(0)}`;
  };
  return [
    await time(() => monitorState(deps, { project: 'bench' })),
    await time(() => monitorSeries(deps, { project: 'bench', model: 'm', version: 1, channel: 'staging', detector: 'embedding', maxPoints: 500 })),
    await time(() => monitorSeries(deps, { project: 'bench', model: 'm', version: 1, channel: 'staging', detector: 'embedding', maxPoints: 2000, from: new Date(now - 3600_000).toISOString() })),
  ];
}

/**
 * What a monitor update costs per event: predictions of 10 synthetic classes with 128-value embeddings (the reference
 * CNN's size) from 50 devices are stored, then processStream brings the stream up to date in transactions of 2,000
 * (read, detectors, points, rollups, state) on each database. `--events n` sets how many (default 20,000).
 */
import { publishedVersion } from '../test/published-version';
import { drawSynthetic, predictionRows, storeProfile, syntheticProfile } from '../test/synthetic-monitor';
import { insertPredictionRows } from '../src/feedback/feedback.repository';
import { createProject } from '../src/projects/project.service';
import * as models from '../src/registry/model-version.repository';
import * as streams from '../src/monitoring/monitor-stream.repository';
import { processStream } from '../src/monitoring/monitor.service';
import { monitorSeries, monitorState } from '../src/monitoring/monitor-query.service';
import * as points from '../src/monitoring/monitor-point.repository';
import * as rollups from '../src/monitoring/monitor-rollup.repository';
import { benchDatabases, freshSetup, machineLine, printTable } from './bench-setup';

const EVENTS = Number(process.argv[process.argv.indexOf('--events') + 1]) || 20_000;
const SHAPE = { labels: Array.from({ length: 10 }, (_, c) => `class-${c}`), dim: 128 };
const DEVICES = 50;

async function main(): Promise<void> {
  console.log(machineLine());
  const started = performance.now();
  // Fewer simulated null streams than the product's 2,000: thresholds do not change the cost of an event.
  const profile = syntheticProfile(3, { simulatedStreams: 300, validationStreams: 0 }, SHAPE);
  console.log(`profile (d=${SHAPE.dim}, K=${SHAPE.labels.length}) built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const draws = drawSynthetic(5, EVENTS, { shape: SHAPE });
  const { databases, stop } = await benchDatabases();
  const rows: string[][] = [];
  const reads: string[][] = [];
  try {
    for (const database of databases) {
      const setup = await freshSetup(database.open);
      try {
        const { deps } = setup;
        // As a hub does at start: the signing key exists before any version (monitor updates derive the review draw from it).
        await deps.keys.ready();
        const project = await createProject(deps, { slug: 'bench', labels: SHAPE.labels, createdBy: 'bench' });
        await publishedVersion(deps, 'bench', 'm', 1);
        const [version] = await models.versionIdsOf(deps.db, project.id, ['m']);
        await storeProfile(deps, version!.id, profile);
        const at = new Date();
        for (let i = 0; i < draws.length; i += 500) {
          await insertPredictionRows(
            deps.db,
            predictionRows(draws.slice(i, i + 500), {
              projectId: project.id,
              modelVersionId: version!.id,
              labels: SHAPE.labels,
              backend: 'webgpu',
              latencyMs: (j) => 3 + (j % 7),
              sender: (j) => ({ deviceId: `device-${String((i + j) % DEVICES).padStart(4, '0')}`, sentBy: 'bench' }),
              createdAt: at,
            }),
          );
        }
        const stream = await streams.getOrCreate(deps.db, { projectId: project.id, modelVersionId: version!.id, channel: 'production' });
        const later = new Date(Date.now() + 60_000);
        const times: number[] = [];
        let events = 0;
        let admitted = 0;
        for (;;) {
          const t0 = performance.now();
          const outcome = await processStream(deps, stream.id, { now: later });
          times.push(performance.now() - t0);
          if (outcome.status !== 'processed') throw new Error(`stream not processed: ${JSON.stringify(outcome)}`);
          events += outcome.events;
          admitted += outcome.admitted;
          if (!outcome.more) break;
        }
        const seconds = times.reduce((s, t) => s + t, 0) / 1000;
        const perTransaction = [...times].sort((a, b) => a - b);
        rows.push([
          database.label,
          events.toLocaleString('en-US'),
          admitted.toLocaleString('en-US'),
          Math.round(events / seconds).toLocaleString('en-US'),
          ((seconds * 1e3) / events).toFixed(3),
          `${Math.round(perTransaction[Math.floor(perTransaction.length / 2)]!)} / ${Math.round(perTransaction.at(-1)!)}`,
        ]);
        reads.push([database.label, ...(await dashboardReads(deps, project.id, version!.id))]);
      } finally {
        await setup.close();
      }
    }
  } finally {
    stop();
  }
  printTable(['database', 'events', 'admitted', 'events/s', 'ms/event', 'ms per 2,000-event transaction (median / max)'], rows);
  printTable(['database (points and rollups of 1M events)', 'state ms (p50 / p95)', 'series, all, 500 points', 'series, last hour, 2,000 points'], reads);
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
