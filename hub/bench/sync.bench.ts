/**
 * `npm run bench`: device feedback through the hub. Devices' outboxes POST `feedback.syncPredictions` batches over HTTP
 * (a device token, per-event validation and answers, idempotent inserts); as the baseline in the same run, the same
 * rows are INSERTed straight into the predictions table, 1,000 per statement, with no HTTP, JSON or checks.
 * 1% of the events are poisoned (a label the project does not have): the hub rejects them one by one and stores the rest.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MAX_SYNC_BATCH, type PredictionEvent, type SyncResult } from '@edgeloop/shared';
import { mapConcurrent } from '../src/concurrency';
import { createToken } from '../src/auth/token.service';
import { createProject, getProject } from '../src/projects/project.service';
import { modelVersions, predictions } from '../src/db/schema';
import { FASHION_MNIST_LABELS } from '../src/demo';
import { predictionRow } from '../src/feedback/feedback.repository';
import { progressBar } from '../src/progress';
import { createHubServer, listen } from '../src/server';
import { publishedVersion } from '../test/published-version';
import { type Setup, benchDatabases, freshSetup, machineLine, printTable } from './bench-setup';

const EVENTS = 20_000;
/** Devices sending at once, each one batch at a time, as an outbox does. */
const DEVICES = 4;
const EMBEDDING_SIZE = 128; // the reference CNN's embedding layer
const LABELS = FASHION_MNIST_LABELS;
const POISONED_EVERY = 100;

function events(): PredictionEvent[] {
  return Array.from({ length: EVENTS }, (_, i) => {
    const top = LABELS.slice(0, 5).map((label, k) => ({ label, probability: 0.5 / (k + 1) }));
    if (i % POISONED_EVERY === POISONED_EVERY - 1) top[0] = { label: 'not-a-label', probability: 0.5 };
    return {
      id: crypto.randomUUID(),
      model: 'fashion-cnn',
      version: 1,
      backend: 'webgpu',
      latencyMs: 1.2,
      top,
      embedding: Array.from({ length: EMBEDDING_SIZE }, () => Math.fround(Math.random() * 4 - 2)),
      source: 'camera',
      createdAt: new Date(Date.UTC(2026, 10, 30, 0, 0, i % 60)).toISOString(),
    };
  });
}

async function prepare(setup: Setup): Promise<void> {
  await createProject(setup.deps, { slug: 'fashion-mnist', labels: LABELS, createdBy: 'bench' });
  await publishedVersion(setup.deps, 'fashion-mnist', 'fashion-cnn', 1);
}

async function hubSync(setup: Setup, all: PredictionEvent[], label: string): Promise<{ seconds: number; inserted: number; rejected: number }> {
  await prepare(setup);
  const { secret } = await createToken(setup.deps, { name: 'bench-device', role: 'device', projects: ['fashion-mnist'], createdBy: 'bench' });
  const webRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-bench-web-'));
  const server = createHubServer(setup.deps, { webRoot });
  const { port } = await listen(server, 0, '127.0.0.1');
  const batches: PredictionEvent[][] = [];
  for (let i = 0; i < all.length; i += MAX_SYNC_BATCH) batches.push(all.slice(i, i + MAX_SYNC_BATCH));
  const bar = progressBar(`hub sync (${label})`);
  let inserted = 0;
  let rejected = 0;
  let sent = 0;
  const started = performance.now();
  try {
    await mapConcurrent(batches, DEVICES, async (batch) => {
      const response = await fetch(`http://127.0.0.1:${port}/trpc/feedback.syncPredictions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ project: 'fashion-mnist', predictions: batch }),
      });
      if (!response.ok) throw new Error(`sync answered HTTP ${response.status}: ${await response.text()}`);
      const result = ((await response.json()) as { result: { data: SyncResult } }).result.data;
      inserted += result.inserted;
      rejected += result.rejected.length;
      bar.update((sent += batch.length), all.length);
    });
  } finally {
    bar.stop();
    await new Promise((resolve) => server.close(resolve));
    fs.rmSync(webRoot, { recursive: true, force: true });
  }
  return { seconds: (performance.now() - started) / 1000, inserted, rejected };
}

/** The accepted events' rows, built outside the clock, INSERTed 1,000 per statement. */
async function rawInsert(setup: Setup, all: PredictionEvent[]): Promise<{ seconds: number; rows: number }> {
  await prepare(setup);
  const project = await getProject(setup.deps, 'fashion-mnist');
  const [version] = await setup.deps.db.select({ id: modelVersions.id }).from(modelVersions);
  const rows = all
    .filter((e) => LABELS.includes(e.top[0]!.label))
    .map((e) => predictionRow(e, { projectId: project.id, modelVersionId: version!.id, sentBy: 'bench-device' }));
  const started = performance.now();
  for (let i = 0; i < rows.length; i += 1000) await setup.deps.db.insert(predictions).values(rows.slice(i, i + 1000));
  return { seconds: (performance.now() - started) / 1000, rows: rows.length };
}

async function main(): Promise<void> {
  console.log(`device feedback: ${EVENTS.toLocaleString('en')} predictions (${EMBEDDING_SIZE}-d embeddings, top-5; 1 in ${POISONED_EVERY} poisoned), batches of ${MAX_SYNC_BATCH}, ${DEVICES} devices at once`);
  console.log(`${machineLine()}\n`);
  const all = events();
  const { databases, stop } = await benchDatabases();
  const rows: string[][] = [];
  try {
    for (const database of databases) {
      const hub = await freshSetup(database.open);
      const synced = await hubSync(hub, all, database.label).finally(() => hub.close());
      const base = await freshSetup(database.open);
      const baseline = await rawInsert(base, all).finally(() => base.close());
      rows.push([
        database.label,
        synced.inserted.toLocaleString('en'),
        synced.rejected.toLocaleString('en'),
        synced.seconds.toFixed(1),
        Math.round(EVENTS / synced.seconds).toLocaleString('en'),
        baseline.seconds.toFixed(1),
        Math.round(baseline.rows / baseline.seconds).toLocaleString('en'),
        (synced.seconds / baseline.seconds).toFixed(2),
      ]);
    }
  } finally {
    stop();
  }
  printTable(['database', 'stored', 'rejected', 'hub sync s', 'hub events/s', 'baseline s', 'baseline rows/s', 'hub / baseline'], rows);
  console.log('\nhub sync = HTTP + JSON + token and project check + per-event validation and answers + idempotent multi-row insert');
  console.log('baseline = the accepted rows INSERTed 1,000 per statement through the same driver, nothing else');
}

await main();
