/**
 * `npm run bench`: the admin's Devices & tokens reads at scale. One project holds 70,000 predictions from 300
 * devices over the last 7 days (three backends, latencies 1-400 ms) and 1,000 tokens; each call is made
 * DEVICES_BENCH_REPEATS times (default 30) through its service, as its procedure does, and its p50/p95 printed:
 * - devices.seen: the first page (25 devices) of the 7-day window, and a later page filtered by one backend (the window
 *   keeps its latest MAX_WINDOW_PREDICTIONS predictions, 20,000);
 * - auth.listTokens: a page of 25 tokens.
 */
import crypto from 'node:crypto';
import { embeddingToBytes } from '@edgeloop/shared';
import { createToken, listTokenPage } from '../src/auth/token.service';
import { devicesSeen } from '../src/feedback/device-stats.service';
import { insertPredictionRows } from '../src/feedback/feedback.repository';
import { createProject } from '../src/projects/project.service';
import { versionIdsOf } from '../src/registry/model-version.repository';
import { publishedVersion } from '../test/published-version';
import { benchDatabases, freshSetup, machineLine, printTable } from './bench-setup';

const PREDICTIONS = 70_000;
const DEVICES = 300;
const TOKENS = 1_000;
const REPEATS = Number(process.env.DEVICES_BENCH_REPEATS ?? 30);
const BATCH = 2_000; // rows per INSERT: under PostgreSQL's 65,535 parameters

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

async function timed(call: () => Promise<unknown>): Promise<{ p50: number; p95: number }> {
  await call(); // warm: plans and caches, as a hub that has answered once
  const times: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const start = performance.now();
    await call();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { p50: quantile(times, 0.5), p95: quantile(times, 0.95) };
}

const { databases, stop } = await benchDatabases();
const rows: string[][] = [];
try {
  for (const database of databases) {
    const setup = await freshSetup(database.open);
    try {
      const { deps } = setup;
      const project = await createProject(deps, { slug: 'devices', labels: ['a', 'b', 'c'], createdBy: 'bench' });
      await publishedVersion(deps, 'devices', 'm', 1);
      const [version] = await versionIdsOf(deps.db, project.id, ['m']);
      const now = Date.now();
      const embedding = embeddingToBytes(new Array<number>(64).fill(0.5));
      for (let start = 0; start < PREDICTIONS; start += BATCH) {
        await insertPredictionRows(
          deps.db,
          Array.from({ length: BATCH }, (_, j) => {
            const i = start + j;
            return {
              id: crypto.randomUUID(),
              projectId: project.id,
              modelVersionId: version!.id,
              label: 'a',
              confidence: 0.9,
              topK: [{ label: 'a', probability: 0.9 }],
              embedding,
              backend: ['webgpu', 'webgl', 'wasm'][i % 3]!,
              latencyMs: 1 + ((i * 7919) % 400),
              source: 'camera',
              sentBy: 'fleet',
              deviceId: `device-${String(i % DEVICES).padStart(4, '0')}`,
              appVersion: '1.0.0',
              createdAt: new Date(now - (i % 10_000) * 60_000),
            };
          }),
        );
      }
      for (let i = 0; i < TOKENS; i++) await createToken(deps, { name: `device-${i}`, role: 'device', createdBy: 'bench', projects: ['devices'] });
      const cases: [string, () => Promise<unknown>][] = [
        ['devices.seen, 7 days, first page', () => devicesSeen(deps, { project: 'devices', days: 7, limit: 25, offset: 0 })],
        ['devices.seen, 7 days, webgl, page 3', () => devicesSeen(deps, { project: 'devices', days: 7, backend: 'webgl', limit: 25, offset: 50 })],
        ['auth.listTokens, page 3 of 1,001', () => listTokenPage(deps, { status: 'all', limit: 25, offset: 50 })],
      ];
      for (const [name, call] of cases) {
        const { p50, p95 } = await timed(call);
        rows.push([database.label, name, p50.toFixed(0), p95.toFixed(0)]);
      }
    } finally {
      await setup.close();
    }
  }
} finally {
  stop();
}
console.log(`\nDevices & tokens reads: ${PREDICTIONS.toLocaleString('en')} predictions from ${DEVICES} devices, ${TOKENS.toLocaleString('en')} tokens; ${REPEATS} calls each (${machineLine()})`);
printTable(['database', 'call', 'p50 ms', 'p95 ms'], rows);
