/**
 * `tsx hub/bench/reference-profile.bench.ts [held-out images] [cold|warm]`: how long the `monitor.profile` job takes
 * for a Fashion-MNIST-sized version: a default reference CNN (briefly trained) published from a dataset version with
 * half the held-out images in val and half in test (5,000 by default, the cap), then computeReferenceProfile timed:
 * loading the held-out images, the model's embeddings, and the statistics and simulated thresholds. `cold` (default)
 * fetches and decodes every image from the object store; `warm` first lets the training loader cache the dataset
 * version on local disk, as the worker that trained the run has it.
 */
import { validateModelConfig } from '@edgeloop/training';
import { FASHION_MNIST_DEBIAN_DIR, FASHION_MNIST_SAMPLE_DIR, FASHION_PREPROCESSING } from '@edgeloop/training/test-support';
import fs from 'node:fs';
import os from 'node:os';
import { openPglite } from '../src/db/database';
import { createLogger } from '../src/logger';
import { computeReferenceProfile } from '../src/monitoring/reference-profile.service';
import * as profiles from '../src/monitoring/reference-profile.repository';
import { loadTrainingData } from '../src/training/dataset-loader';
import { publishTinyVersion } from '../test/tiny-model-version';
import { freshSetup, machineLine } from './bench-setup';

const heldOut = Number(process.argv[2] ?? 5_000);
const warm = process.argv[3] === 'warm';
const dir = fs.existsSync(FASHION_MNIST_DEBIAN_DIR) ? FASHION_MNIST_DEBIAN_DIR : FASHION_MNIST_SAMPLE_DIR;
const setup = await freshSetup(() => openPglite(undefined));
try {
  const counts = { train: 256, val: Math.floor(heldOut / 2), test: Math.ceil(heldOut / 2) };
  const config = validateModelConfig({ architecture: 'reference-cnn', numClasses: 10 });
  const publishing = performance.now();
  const { published, datasetVersionId } = await publishTinyVersion(setup, { project: 'bench', model: 'cnn', counts, config, epochs: 1, dir });
  console.log(`published a default reference CNN from ${counts.train} train, ${counts.val} val, ${counts.test} test images (${dir}) in ${((performance.now() - publishing) / 1000).toFixed(1)} s`);
  if (warm) await loadTrainingData(setup.deps, { project: 'bench', versionId: datasetVersionId, preprocessing: FASHION_PREPROCESSING }, () => {});
  const lines: string[] = [];
  setup.deps.log = { ...createLogger('silent'), info: (line: string) => lines.push(line), warn: (line: string) => lines.push(line) };
  const started = performance.now();
  const cpu = process.cpuUsage();
  const status = await computeReferenceProfile(setup.deps, published.id);
  const seconds = (performance.now() - started) / 1000;
  // CPU seconds of this process (the embedded S3 server and PGlite run in it too): a shared machine inflates wall time.
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  const row = await profiles.byVersion(setup.deps.db, published.id);
  console.log(lines.join('\n'));
  console.log(`${machineLine()}\nreference profile of ${counts.val} val + ${counts.test} test images (${published.recommended}): ${status} in ${seconds.toFixed(1)} s (${warm ? 'images cached by training' : 'images from the object store'}; ${cpuSeconds.toFixed(1)} CPU s, load average ${os.loadavg()[0]!.toFixed(1)})${row?.error ? ` (${row.error})` : ''}`);
} finally {
  await setup.close();
}
