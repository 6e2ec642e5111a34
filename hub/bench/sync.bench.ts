/**
 * `npm run bench`: device feedback through the hub, beside a raw COPY of the same rows in the same run. Devices send
 * 500-event batches (128-value embeddings, top-5), 1, 4 and 8 at once, each one batch at a time as an outbox does:
 * - tRPC: one HTTP request of 5 batched `feedback.syncPredictions` calls (MAX_SYNC_BATCH = 100 each), as the PWA sends them;
 * - bulk: one `POST /v1/feedback/predictions` with base64 float32 embeddings;
 * - COPY: the accepted rows, already in COPY's text format, `COPY predictions FROM STDIN` 500 rows per statement
 *   through the same driver (PGlite: COPY from a blob), with no HTTP, JSON, token or checks.
 * 1% of the events are poisoned (a label the project does not have): the hub rejects them one by one and stores the rest.
 * Bodies are serialised to bytes before the clock starts (a device does that on its own CPU); the hub runs in this process.
 * Each measurement is the median of SYNC_BENCH_REPEATS runs (default 3) of SYNC_BENCH_EVENTS events (default 24,000).
 * SYNC_BENCH_ONLY=postgres (or pglite) measures one database; SYNC_BENCH_PATHS=bulk,COPY some paths;
 * SYNC_BENCH_CPU_SPLIT=1 prints the hub's and the PostgreSQL server's CPU seconds per run; SYNC_BENCH_PROFILE=<dir> writes
 * a CPU profile of this process per run there (open it in Chrome's DevTools).
 */
import fs from 'node:fs';
import http from 'node:http';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { PGlite } from '@electric-sql/pglite';
import { type PredictionEvent, embeddingToBytes } from '@edgeloop/shared';
import { sql } from 'drizzle-orm';
import type postgres from 'postgres';
import { createToken } from '../src/auth/token.service';
import { mapConcurrent } from '../src/concurrency';
import { modelVersions } from '../src/db/schema';
import { FASHION_MNIST_LABELS } from '../src/demo';
import { createProject, getProject } from '../src/projects/project.service';
import { createHubServer, listen } from '../src/server';
import { type SyncCall, type SyncPath, batches, p95, post, predictionEvents, syncAnswer, syncCall } from '../test/device-sync';
import { publishedVersion } from '../test/published-version';
import { type Setup, benchDatabases, freshSetup, machineLine, printTable } from './bench-setup';

const EVENTS = Number(process.env.SYNC_BENCH_EVENTS ?? 24_000);
const BATCH = 500;
/** Runs per measurement; the median counts (SYNC_BENCH_REPEATS=1 for a quick look). */
const REPEATS = Number(process.env.SYNC_BENCH_REPEATS ?? 3);
const CLIENTS = [1, 4, 8];
const EMBEDDING_SIZE = 128; // the reference CNN's embedding layer
const LABELS = FASHION_MNIST_LABELS;
const POISONED_EVERY = 100;
const PROJECT = 'fashion-mnist';
/** SYNC_BENCH_PATHS=bulk,COPY measures only those (while profiling one path). */
const PATHS = (process.env.SYNC_BENCH_PATHS?.split(',') ?? ['tRPC', 'bulk', 'COPY']) as ('tRPC' | 'bulk' | 'COPY')[];

function events(): PredictionEvent[] {
  return predictionEvents(EVENTS, { model: 'fashion-cnn', version: 1, labels: LABELS, embeddingSize: EMBEDDING_SIZE, poisonedEvery: POISONED_EVERY });
}

interface Measured {
  seconds: number;
  /** CPU seconds this process (hub, clients, PGlite) and the PostgreSQL server's processes spent meanwhile. */
  cpuSeconds: number;
  stored: number;
  rejected: number;
  /** Milliseconds per call, each call one batch of BATCH events. */
  calls: number[];
}

/**
 * CPU seconds spent so far by this process and by each PostgreSQL server process (from /proc; its backends and
 * background writers as pg_stat_activity lists them). The machine is shared, so wall-clock rates move with whatever
 * else runs; CPU seconds per event do not.
 */
async function cpuNow(setup: Setup, kind: 'pglite' | 'postgres'): Promise<{ node: number; server: Map<number, number> }> {
  const { user, system } = process.cpuUsage();
  const server = new Map<number, number>();
  if (kind === 'postgres') {
    const rows = (await setup.deps.db.execute(sql`select pid from pg_stat_activity`)) as unknown as { pid: number }[];
    const ticks = 100; // USER_HZ on Linux
    for (const { pid } of rows) {
      try {
        const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        server.set(pid, (Number(fields[11]) + Number(fields[12])) / ticks); // utime, stime
      } catch {
        // the process ended meanwhile
      }
    }
  }
  return { node: (user + system) / 1e6, server };
}

function cpuSince(before: Awaited<ReturnType<typeof cpuNow>>, after: Awaited<ReturnType<typeof cpuNow>>): number {
  let server = 0;
  for (const [pid, seconds] of after.server) server += seconds - (before.server.get(pid) ?? 0);
  if (process.env.SYNC_BENCH_CPU_SPLIT) console.log(`  cpu: this process ${(after.node - before.node).toFixed(2)} s, PostgreSQL ${server.toFixed(2)} s`);
  return after.node - before.node + server;
}

v8.setFlagsFromString('--expose-gc');
/** A full collection before each measurement, so garbage from preparing its calls is not collected on its clock. */
const collectGarbage = vm.runInNewContext('gc') as () => void;

/** A CPU profile of what runs until the returned function is called, written to SYNC_BENCH_PROFILE/<name>.cpuprofile. */
async function startProfile(name: string): Promise<() => Promise<void>> {
  const dir = process.env.SYNC_BENCH_PROFILE;
  if (!dir) return async () => {};
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}

/** Sends the prepared calls from `clients` senders at once, each one call at a time. */
async function measure<C>(
  setup: Setup,
  kind: 'pglite' | 'postgres',
  name: string,
  calls: C[],
  clients: number,
  send: (call: C) => Promise<{ stored: number; rejected: number }>,
): Promise<Measured> {
  const times: number[] = [];
  let stored = 0;
  let rejected = 0;
  collectGarbage();
  const stopProfile = await startProfile(`${kind}-${name}-${clients}`);
  const cpuBefore = await cpuNow(setup, kind);
  const started = performance.now();
  await mapConcurrent(calls, clients, async (call) => {
    const t = performance.now();
    const answer = await send(call);
    times.push(performance.now() - t);
    stored += answer.stored;
    rejected += answer.rejected;
  });
  const seconds = (performance.now() - started) / 1000;
  await stopProfile();
  return { seconds, cpuSeconds: cpuSince(cpuBefore, await cpuNow(setup, kind)), stored, rejected, calls: times };
}

/** The run of median duration. */
function medianRun(runs: Measured[]): Measured {
  return [...runs].sort((a, b) => a.seconds - b.seconds)[Math.floor(runs.length / 2)]!;
}

interface Hub {
  setup: Setup;
  url: string;
  secret: string;
  modelVersionId: string;
  projectId: string;
  close(): Promise<void>;
}

async function startHub(setup: Setup): Promise<Hub> {
  await createProject(setup.deps, { slug: PROJECT, labels: LABELS, createdBy: 'bench' });
  await publishedVersion(setup.deps, PROJECT, 'fashion-cnn', 1);
  const project = await getProject(setup.deps, PROJECT);
  const [version] = await setup.deps.db.select({ id: modelVersions.id }).from(modelVersions);
  const { secret } = await createToken(setup.deps, { name: 'bench-device', role: 'device', projects: [PROJECT], createdBy: 'bench' });
  const webRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-bench-web-'));
  const server = createHubServer(setup.deps, { webRoot });
  // Clients keep their connections between measurements (seconds apart while the next events are made): Node's 5 s
  // keep-alive would close them under a client's next request (ECONNRESET).
  server.keepAliveTimeout = 120_000;
  const { port } = await listen(server, 0, '127.0.0.1');
  return {
    setup,
    url: `http://127.0.0.1:${port}`,
    secret,
    modelVersionId: version!.id,
    projectId: project.id,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      fs.rmSync(webRoot, { recursive: true, force: true });
    },
  };
}

/**
 * The clients: node:http with kept-alive connections. Devices send from their own CPUs; here they share the hub's
 * machine, and fetch (undici) spent more CPU per request than the hub's whole handling of it, so the lean client keeps
 * the measurement on the hub.
 */
const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 120_000, maxSockets: Math.max(...CLIENTS) });
/** One HTTP request per batch as `route` sends it (tRPC: MAX_SYNC_BATCH-event calls batched as tRPC's client does), embeddings in base64 as the PWA sends them. */
function calls(route: SyncPath, all: PredictionEvent[]): SyncCall[] {
  return batches(all, BATCH).map((batch) => syncCall(route, PROJECT, batch));
}

async function send(hub: Hub, route: SyncPath, call: SyncCall): Promise<{ stored: number; rejected: number }> {
  const response = await post(agent, `${hub.url}${call.path}`, hub.secret, call.body);
  const result = response.status === 200 ? syncAnswer(route, response.text) : null;
  if (!result) throw new Error(`${route} answered HTTP ${response.status}: ${response.text.slice(0, 300)}`);
  return { stored: result.inserted, rejected: result.rejected.length };
}

const COPY_COLUMNS = 'id, project_id, model_version_id, channel, label, confidence, top_k, embedding, backend, latency_ms, source, sent_by, device_id, app_version, created_at';

/** A value in COPY's text format: backslash, tab, newline and carriage return escaped. */
const copyText = (value: string) => value.replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]!);

/** The accepted events as COPY text, BATCH rows per statement, built before the clock. */
function copyBatches(hub: Hub, all: PredictionEvent[]): string[] {
  const accepted = all.filter((e) => e.top.every((t) => LABELS.includes(t.label)));
  return batches(accepted, BATCH).map((batch) =>
    batch
      .map((e) =>
        [
          e.id,
          hub.projectId,
          hub.modelVersionId,
          e.channel!,
          copyText(e.top[0]!.label),
          String(e.top[0]!.probability),
          copyText(JSON.stringify(e.top)),
          `\\\\x${Buffer.from(embeddingToBytes(e.embedding)).toString('hex')}`,
          e.backend,
          String(e.latencyMs),
          e.source,
          'bench-device',
          copyText(e.deviceId!),
          copyText(e.appVersion!),
          e.createdAt,
        ].join('\t'),
      )
      .join('\n')
      .concat('\n'),
  );
}

async function sendCopy(hub: Hub, kind: 'pglite' | 'postgres', text: string): Promise<{ stored: number; rejected: number }> {
  const rows = text.split('\n').length - 1;
  const client = (hub.setup.deps.db as unknown as { $client: unknown }).$client;
  if (kind === 'pglite') {
    await (client as PGlite).query(`copy predictions (${COPY_COLUMNS}) from '/dev/blob'`, [], { blob: new Blob([text]) });
  } else {
    const sqlClient = client as postgres.Sql;
    const stream = await sqlClient.unsafe(`copy predictions (${COPY_COLUMNS}) from stdin`).writable();
    await new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      stream.on('finish', resolve);
      stream.end(text);
    });
  }
  return { stored: rows, rejected: 0 };
}

async function main(): Promise<void> {
  console.log(
    `device feedback: ${EVENTS.toLocaleString('en')} predictions per measurement (${EMBEDDING_SIZE}-d embeddings, top-5; 1 in ${POISONED_EVERY} poisoned), batches of ${BATCH}, ${CLIENTS.join(', ')} clients at once; median of ${REPEATS} runs`,
  );
  console.log(`${machineLine()}\n`);
  const { databases, stop } = await benchDatabases();
  const rows: string[][] = [];
  try {
    for (const database of databases) {
      const kind = database.label.startsWith('PGlite') ? 'pglite' : 'postgres';
      if (process.env.SYNC_BENCH_ONLY && process.env.SYNC_BENCH_ONLY !== kind) continue;
      const setup = await freshSetup(database.open);
      const hub = await startHub(setup);
      try {
        for (const clients of CLIENTS) {
          // Each path REPEATS times, the paths taking turns so that both meet the machine's moods; the median run counts.
          const runs = new Map<string, Measured[]>(PATHS.map((path) => [path, []]));
          for (let run = 0; run < REPEATS; run++) {
            for (const path of PATHS) {
              // Fresh events (new ids) per run, each into an empty table.
              const all = events();
              await setup.deps.db.execute(sql`truncate predictions cascade`);
              const measured =
                path === 'tRPC'
                  ? await measure(setup, kind, `${path}-${run}`, calls('tRPC', all), clients, (call) => send(hub, 'tRPC', call))
                  : path === 'bulk'
                    ? await measure(setup, kind, `${path}-${run}`, calls('bulk', all), clients, (call) => send(hub, 'bulk', call))
                    : await measure(setup, kind, `${path}-${run}`, copyBatches(hub, all), clients, (text) => sendCopy(hub, kind, text));
              const counted = (await setup.deps.db.execute(sql`select count(*)::int as count from predictions`)) as unknown;
              const count = (Array.isArray(counted) ? counted : (counted as { rows: { count: number }[] }).rows)[0]!.count as number;
              const expected = EVENTS - EVENTS / POISONED_EVERY;
              if (measured.stored !== expected || count !== expected) {
                throw new Error(`${path}: stored ${measured.stored} (table holds ${count}), expected ${expected}`);
              }
              runs.get(path)!.push(measured);
            }
          }
          const results = PATHS.map((path): [string, Measured] => [path, medianRun(runs.get(path)!)]);
          const copy = results.find(([path]) => path === 'COPY')?.[1];
          const copyRate = copy ? copy.stored / copy.seconds : Number.NaN;
          const copyPerCpu = copy ? copy.stored / copy.cpuSeconds : Number.NaN;
          for (const [path, m] of results) {
            const events = path === 'COPY' ? m.stored : EVENTS;
            rows.push([
              database.label,
              String(clients),
              path,
              Math.round(events / m.seconds).toLocaleString('en'),
              p95(m.calls).toFixed(0),
              path === 'COPY' ? '1.00' : (events / m.seconds / copyRate).toFixed(2),
              Math.round(events / m.cpuSeconds).toLocaleString('en'),
              path === 'COPY' ? '1.00' : (events / m.cpuSeconds / copyPerCpu).toFixed(2),
              m.rejected.toLocaleString('en'),
            ]);
          }
          console.log(`${database.label}, ${clients} client(s): done`);
        }
      } finally {
        await hub.close();
        await setup.close();
      }
    }
  } finally {
    stop();
  }
  printTable(['database', 'clients', 'path', 'events/s', 'p95 ms per call', 'x COPY', 'events per CPU-s', 'x COPY (CPU)', 'rejected'], rows);
  console.log(`\nevents/s counts every event sent (stored or rejected); COPY counts the ${100 - 100 / POISONED_EVERY}% of rows the hub accepts`);
  console.log('events per CPU-s: events / CPU seconds of this process (hub, HTTP clients, PGlite) and the PostgreSQL server meanwhile: what the machine\'s load does not move');
  console.log('tRPC = 5 batched feedback.syncPredictions calls of 100 per request; bulk = POST /v1/feedback/predictions; both with base64 embeddings');
  console.log('both: HTTP + JSON + token, role and project check + per-event validation and answers + one binary COPY per call (INSERT ... ON CONFLICT when the batch holds a stored event)');
}

await main();
