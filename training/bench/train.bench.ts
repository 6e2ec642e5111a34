/**
 * Training benchmark: images/s of the reference CNN per available backend, beside stock tfjs cpu measured in the
 * same run, then one full training run for test accuracy and the size/accuracy of each weight encoding.
 *   npm run bench                      (both benchmarks)
 *   npx tsx training/bench/train.bench.ts [--epochs n] [--batch-size n] [--learning-rate x] [--augmentation none|horizontal-flip] [--skip-full] [--skip-throughput]
 */
import fs from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { type BackendName, type TrainingData, selectBackend, sharedImageSet, train, validateModelConfig, validateTrainConfig } from '../src/index';
import { FASHION_MNIST_DEBIAN_DIR, FASHION_MNIST_SAMPLE_DIR, loadFashionMnist } from '../src/test-support/fashion-mnist-fixture';

const { values: args } = parseArgs({
  options: {
    // Defaults: those of a training run (validateTrainConfig).
    epochs: { type: 'string' },
    'batch-size': { type: 'string' },
    'learning-rate': { type: 'string' },
    augmentation: { type: 'string' },
    'skip-full': { type: 'boolean', default: false },
    'skip-throughput': { type: 'boolean', default: false },
  },
});
const full = fs.existsSync(`${FASHION_MNIST_DEBIAN_DIR}/train-images-idx3-ubyte.gz`);
const data = loadFashionMnist(full ? FASHION_MNIST_DEBIAN_DIR : FASHION_MNIST_SAMPLE_DIR, { valCount: full ? 5000 : 208 });
const model = validateModelConfig({ architecture: 'reference-cnn', numClasses: 10 });

/** The first `count` images of each split: throughput runs need no full evaluation at the end. */
function subset(source: TrainingData, trainCount: number): TrainingData {
  const cut = (set: TrainingData['train'], count: number) => {
    const n = Math.min(count, set.count);
    const out = sharedImageSet(n, 28, 28, 1);
    out.pixels.set(set.pixels.subarray(0, n * 784));
    out.labels.set(set.labels.subarray(0, n));
    return out;
  };
  return { ...source, train: cut(source.train, trainCount), val: cut(source.val, 64), test: cut(source.test, 64) };
}

interface Row {
  backend: string;
  replicas: number;
  imagesPerSecond: number | null;
  note: string;
}

/** Mean throughput of the epochs after the first (which includes warm-up: kernel setup, first allocations). */
async function throughput(backend: BackendName, replicas: number, trainCount: number, batchSize: number, epochs = 4): Promise<Row> {
  const result = await train({ model, config: validateTrainConfig({ epochs, batchSize, backend, replicas, seed: 1 }), data: subset(data, trainCount) });
  const timed = result.history.slice(1);
  const imagesPerSecond = (timed.length * trainCount) / timed.reduce((s, e) => s + trainCount / e.imagesPerSecond, 0);
  return { backend: `${backend} (${result.backend.detail})`, replicas, imagesPerSecond, note: `${trainCount} images/epoch, batch ${batchSize}, mean of epochs 2-${epochs}` };
}

async function availability(backend: BackendName): Promise<string | null> {
  try {
    await selectBackend(backend);
    return null;
  } catch (error) {
    return (error as Error).message.replace(/; valid values.*$/, '');
  }
}

async function main(): Promise<void> {
  const cores = os.availableParallelism();
  console.log(`Fashion-MNIST ${full ? 'full (60,000 train / 10,000 test)' : 'SAMPLE (install dataset-fashion-mnist for the full set)'}; reference CNN (225,034 parameters), Adam`);
  console.log(`machine: ${cores} x ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}\n`);

  if (!args['skip-throughput']) await throughputTable();
  if (!args['skip-full']) await fullRun();
}

async function throughputTable(): Promise<void> {
  const cores = os.availableParallelism();
  const rows: Row[] = [];
  // Stock tfjs cpu: its Conv2DBackpropFilter reads one element at a time, so a few steps are all it can do.
  rows.push({ ...(await throughput('cpu', 1, 64, 32, 2)), note: 'stock tfjs cpu backend, baseline: 64 images/epoch, batch 32, epoch 2' });
  for (const backend of ['tensorflow', 'webgpu'] as const) {
    const missing = await availability(backend);
    rows.push(missing ? { backend, replicas: 1, imagesPerSecond: null, note: `not available here: ${missing}` } : await throughput(backend, 1, 12_800, 128));
  }
  rows.push(await throughput('wasm', 1, 6_400, 64));
  rows.push(await throughput('wasm', cores, 12_800, 128));

  const baseline = rows[0]!.imagesPerSecond!;
  console.log('| backend | replicas | train images/s | x stock cpu | note |\n|---|---|---|---|---|');
  for (const r of rows) {
    const speed = r.imagesPerSecond === null ? '-' : Math.round(r.imagesPerSecond).toLocaleString('en');
    const ratio = r.imagesPerSecond === null ? '-' : `${Math.round(r.imagesPerSecond / baseline)}x`;
    console.log(`| ${r.backend} | ${r.replicas} | ${speed} | ${ratio} | ${r.note} |`);
  }
}

async function fullRun(): Promise<void> {
  const config = validateTrainConfig({
    seed: 42,
    ...(args.epochs ? { epochs: Number(args.epochs) } : {}),
    ...(args['batch-size'] ? { batchSize: Number(args['batch-size']) } : {}),
    ...(args['learning-rate'] ? { learningRate: Number(args['learning-rate']) } : {}),
    ...(args.augmentation ? { augmentation: args.augmentation } : {}),
  });
  console.log(`\nfull run: ${config.epochs} epochs on ${data.train.count} images, batch ${config.batchSize}, ${config.learningRateSchedule} learning rate from ${config.learningRate}, augmentation ${config.augmentation}`);
  const result = await train({
    model,
    config,
    data,
    onEpoch: (m) => console.log(`epoch ${m.epoch}: loss ${m.loss.toFixed(4)} val_acc ${(m.valAccuracy * 100).toFixed(2)}% ${Math.round(m.imagesPerSecond)} images/s`),
  });
  const float32Bytes = result.artifacts.float32!.weightData.length;
  const reference = result.evaluations.float32!.accuracy;
  console.log(`\n${result.backend.name} x ${result.replicas}, ${result.seconds.toFixed(0)} s\n`);
  console.log('| encoding | weight bytes | % of float32 | test accuracy | drop (points) |\n|---|---|---|---|---|');
  for (const format of ['float32', 'float16', 'uint8'] as const) {
    const bytes = result.artifacts[format]!.weightData.length;
    const accuracy = result.evaluations[format]!.accuracy;
    console.log(`| ${format} | ${bytes.toLocaleString('en')} | ${((bytes / float32Bytes) * 100).toFixed(1)}% | ${(accuracy * 100).toFixed(2)}% | ${((reference - accuracy) * 100).toFixed(2)} |`);
  }
}

await main();
