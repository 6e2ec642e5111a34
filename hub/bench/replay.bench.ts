/**
 * `edgeloop replay` throughput: simulated devices classify Fashion-MNIST test images with a published reference CNN
 * (full size, untrained: the cost of inference does not depend on the weights) loaded and verified from the hub's
 * CDN, and send every prediction with its embedding through feedback.syncPredictions over HTTP. Two inputs: a folder
 * of PNGs (read, decoded and resized as replay does for any folder), and decoded pixels streamed from memory (what
 * the monitoring benchmark feeds). On PGlite: the database is not what this measures.
 */
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createToken } from '../src/auth/token.service';
import { openPglite } from '../src/db/database';
import { FASHION_MNIST_LABELS } from '../src/demo';
import { encodeGreyscalePng } from '../src/images/png';
import { createProject } from '../src/projects/project.service';
import { progressBar } from '../src/progress';
import { createHubServer, listen } from '../src/server';
import { remoteHub } from '../src/cli/remote-hub';
import { type ReplaySummary, replay, replayImages } from '../src/cli/replay';
import { classifyBatch, loadReplayModel } from '../src/cli/replay-model';
import { publishTinyModel } from '../test/published-model';
import { freshSetup, machineLine, printTable } from './bench-setup';
import { loadFashionTestSplit, monitorStream } from './monitor-streams';

const IMAGES = Number(process.env.REPLAY_BENCH_IMAGES ?? 2000);
const DEVICES = 4;

const setup = await freshSetup(() => openPglite(fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-bench-db-'))));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-replay-bench-'));
const server = createHubServer(setup.deps, { webRoot: '/nonexistent' });
try {
  await setup.deps.keys.ready();
  await createProject(setup.deps, { slug: 'fashion-mnist', labels: FASHION_MNIST_LABELS, createdBy: 'bench' });
  await publishTinyModel(setup.deps, { project: 'fashion-mnist', model: 'fashion-cnn', size: [28, 28], fullSize: true });
  const { secret } = await createToken(setup.deps, { name: 'bench-device', role: 'device', projects: ['fashion-mnist'], createdBy: 'bench' });
  const address: AddressInfo = await listen(server, 0, '127.0.0.1');
  const base = `http://127.0.0.1:${address.port}`;
  const hub = remoteHub({ hub: base, token: secret });
  const split = await loadFashionTestSplit();
  const count = Math.min(IMAGES, split.count);

  // The folder: the first `count` test images as PNGs under <label>/.
  const folder = path.join(tmp, 'folder');
  for (const label of FASHION_MNIST_LABELS) fs.mkdirSync(path.join(folder, label), { recursive: true });
  for (let i = 0; i < count; i++) {
    fs.writeFileSync(path.join(folder, split.labelNames[split.labels[i]!]!, `${String(i).padStart(5, '0')}.png`), encodeGreyscalePng(split.pixels.subarray(i * 784, (i + 1) * 784), 28, 28));
  }
  const rows: [string, ReplaySummary][] = [];
  const send = { project: 'fashion-mnist', devices: DEVICES, reviewRate: 0 };
  let bar = progressBar('replay folder');
  rows.push(['folder of PNGs', await replay(hub, base, { ...send, folder, model: 'fashion-cnn', channel: 'production', session: 'folder', maxImages: count, onProgress: bar.update })]);
  bar.stop();

  const loaded = await loadReplayModel(hub, base, { project: 'fashion-mnist', model: 'fashion-cnn', channel: 'production' });
  bar = progressBar('replay stream');
  rows.push(['stream of pixels', await replayImages(hub, loaded, monitorStream(split, 'in-distribution', { seed: 1, length: count }), { ...send, session: 'stream', total: count, labelled: true, onProgress: bar.update })]);
  bar.stop();
  // Inference alone, 256 images per call of the model: what an offline monitoring simulation can classify at.
  const images = [...monitorStream(split, 'in-distribution', { seed: 2, length: count })].map((image) => image.pixels!);
  const batchStarted = performance.now();
  for (let from = 0; from < images.length; from += 256) await classifyBatch(loaded, images.slice(from, from + 256));
  const batchSeconds = (performance.now() - batchStarted) / 1000;
  loaded.dispose();

  console.log(`\nedgeloop replay: ${count} Fashion-MNIST test images (${split.kind === 'full' ? 'full test split' : 'SAMPLE: install dataset-fashion-mnist'}), ${DEVICES} devices, reference CNN untrained`);
  console.log(machineLine());
  printTable(
    ['input', 'backend', 'images', 'inserted', 'images/s', 'mean latency (ms)'],
    [
      ...rows.map(([input, s]) => [input, s.backend, String(s.images), String(s.predictions.inserted), s.imagesPerSecond.toFixed(0), s.meanLatencyMs.toFixed(2)]),
      ['classifyBatch (256 per call, nothing sent)', rows[0]![1].backend, String(count), '-', (count / batchSeconds).toFixed(0), ((batchSeconds * 1000) / count).toFixed(2)],
    ],
  );
} finally {
  server.closeAllConnections();
  server.close();
  await setup.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}
