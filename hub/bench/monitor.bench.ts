/**
 * Monitoring benchmark on Fashion-MNIST: a reference CNN trained here, its reference profile built from held-out
 * images (val = the last 2,000 of train, test = the first 3,000 of t10k), and streams drawn from the other 7,000 t10k
 * images (never trained on, not in the reference) classified by the model's uint8 encoding (what devices run):
 * in distribution and under shifts. Tables: false alarms (ours beside per-window p-value tests measured on the same
 * streams), detection delay per shift, label-free accuracy at 1,000 events, intervals from 5% biased reviews.
 *   npm run bench
 *   npx tsx hub/bench/monitor.bench.ts [--epochs n] [--quick] [--reuse-model]
 * --reuse-model keeps the trained uint8 model in the system's temp folder and reuses it on the next run (same epochs).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  DEFAULT_REVIEW_SETTINGS,
  type MonitorSettings,
  type ReferenceProfile,
  StreamMonitor,
  buildReferenceProfile,
  chiSquareGoodnessOfFit,
  cumulativeProportions,
  hajekAccuracy,
  inclusionProbability,
  ksTwoSampleSorted,
  logitRows,
  monitorSettingsSchema,
  mulberry32,
  naiveLabelAccuracy,
  ppiAccuracy,
  sampleCategorical,
  softmaxWithTemperature,
  wilsonInterval,
} from '@edgeloop/shared';
import { type ImageSet, type ModelArtifacts, loadArtifacts, sharedImageSet, train, validateModelConfig, validateTrainConfig } from '@edgeloop/training';
import { FASHION_MNIST_DEBIAN_DIR, FASHION_MNIST_SAMPLE_DIR, loadFashionMnist } from '@edgeloop/training/test-support';
import { classifierHead, embedImages } from '../src/monitoring/profile-embeddings';
import { hubBackendReady } from '../src/registry/published-model';
import { machineLine, printTable } from './bench-setup';
import { GLYPHS, SHIFT_PARAMETERS, STREAM_KINDS, type StreamKind, renderGlyph, shiftImage } from './monitor-streams';

const { values: args } = parseArgs({ options: { epochs: { type: 'string' }, quick: { type: 'boolean', default: false }, 'reuse-model': { type: 'boolean', default: false } } });
const quick = args.quick;
const full = fs.existsSync(`${FASHION_MNIST_DEBIAN_DIR}/train-images-idx3-ubyte.gz`);
const SIDE = 28;
const PIXELS = SIDE * SIDE;
const DEVICES = 20;
const MEAN_SESSION = 5;
const HORIZON = 300;
const CHANGE_AT = 150;
const AFTER_CHANGE = 1200;
const COUNTS = quick
  ? { nullStreams: 60, shiftStreams: 20, accuracyStreams: 5, reviewTrials: 60 }
  : { nullStreams: 400, shiftStreams: 100, accuracyStreams: 20, reviewTrials: 300 };

/** One image of a pool as the device saw it: its embedding, the device's top-1 and whether that was right. */
interface Pool {
  kind: StreamKind;
  count: number;
  /** [count, d] */
  embeddings: Float32Array;
  /** [count, K] calibrated (temperature-scaled) probabilities, as the monitor computes them. */
  calibrated: Float64Array;
  /** [count, K] the model's own softmax (raw confidence, the uncalibrated baseline). */
  raw: Float32Array;
  predicted: Int32Array;
  /** True class, -1 for images of no class (glyphs). */
  labels: Int32Array;
  /** Indices per true class; glyphs have one bucket. */
  byClass: number[][];
}

function imageSet(pixels: Uint8Array, labels: ArrayLike<number>): ImageSet {
  const set = sharedImageSet(labels.length, SIDE, SIDE, 1);
  set.pixels.set(pixels);
  for (let i = 0; i < labels.length; i++) set.labels[i] = Math.max(0, labels[i]!);
  return set;
}

function slice(set: ImageSet, from: number, to: number): ImageSet {
  return imageSet(set.pixels.subarray(from * PIXELS, to * PIXELS), set.labels.subarray(from, to));
}

function argmax(row: ArrayLike<number>, offset: number, k: number): number {
  let best = 0;
  for (let c = 1; c < k; c++) if (row[offset + c]! > row[offset + best]!) best = c;
  return best;
}

/** softmax((e·kernel + bias) / T) per row [n, K]: what StreamMonitor computes for each event. */
function calibratedRows(profile: ReferenceProfile, embeddings: Float32Array, n: number): Float64Array {
  const { headKernel, headBias } = profile.arrays;
  const k = headBias.length;
  return softmaxWithTemperature(logitRows(embeddings, n, embeddings.length / n, headKernel, headBias, k), k, profile.summary.calibration.temperature);
}

function transformPool(kind: Exclude<StreamKind, 'glyphs'>, pixels: Uint8Array, count: number, random: () => number): Uint8Array {
  const out = new Uint8Array(count * PIXELS);
  for (let i = 0; i < count; i++) out.set(shiftImage(kind, pixels.subarray(i * PIXELS, (i + 1) * PIXELS), random), i * PIXELS);
  return out;
}

/**
 * Draws events: a class by the kind's weights, then an image of it; sessions of one device of geometric length. With
 * `sessionClassShare` > 0 that share of sessions shows one class throughout (one person photographing one thing), the
 * correlation within a device the profile's null streams assume.
 */
class EventDrawer {
  private readonly cumulative: Float64Array;
  private device = 0;
  private sessionClass: number | null = null;
  constructor(
    private readonly pool: Pool,
    private readonly random: () => number,
    shiftedClass: number,
    private readonly sessionClassShare = 0,
  ) {
    const classes = pool.byClass.length;
    const weight = (c: number) => (pool.kind === 'class-doubled' && c === shiftedClass ? SHIFT_PARAMETERS.classWeight : pool.kind === 'class-missing' && c === shiftedClass ? 0 : 1);
    this.cumulative = cumulativeProportions(Array.from({ length: classes }, (_, c) => (pool.byClass[c]!.length ? weight(c) : 0)));
  }
  next(): { index: number; device: string } {
    if (this.random() < 1 / MEAN_SESSION) {
      this.device = Math.floor(this.random() * DEVICES);
      this.sessionClass = this.random() < this.sessionClassShare ? sampleCategorical(this.random, this.cumulative) : null;
    }
    const members = this.pool.byClass[this.sessionClass ?? sampleCategorical(this.random, this.cumulative)]!;
    return { index: members[Math.floor(this.random() * members.length)]!, device: `device-${this.device}` };
  }
}

function push(monitor: StreamMonitor, pool: Pool, index: number, device: string, d: number) {
  return monitor.push({ embedding: pool.embeddings.subarray(index * d, (index + 1) * d), predicted: pool.predicted[index]!, deviceKey: device });
}

const percent = (x: number, digits = 1) => `${(x * 100).toFixed(digits)}%`;
const quantile = (values: number[], q: number) => {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};
const withInterval = (x: number, n: number) => {
  const [lo, hi] = wilsonInterval(x, n);
  return `${percent(x / n)} [${percent(lo)}, ${percent(hi)}] (${x}/${n})`;
};

async function main(): Promise<void> {
  console.log(`Monitoring on Fashion-MNIST ${full ? 'full' : 'SAMPLE (install dataset-fashion-mnist for the full set)'}${quick ? ' (--quick: fewer streams)' : ''}`);
  console.log(machineLine());
  const data = loadFashionMnist(full ? FASHION_MNIST_DEBIAN_DIR : FASHION_MNIST_SAMPLE_DIR, { valCount: full ? 2000 : 100 });
  const referenceCount = full ? 3000 : 200;
  const referenceTest = slice(data.test, 0, referenceCount);
  const streamSet = slice(data.test, referenceCount, data.test.count);

  let started = performance.now();
  const epochs = Number(args.epochs ?? (quick ? 1 : 3));
  const artifacts = await trainedArtifacts(data, referenceTest, epochs);
  await hubBackendReady();
  const model = await loadArtifacts(artifacts);
  const head = classifierHead(model);
  console.log(`model ready in ${((performance.now() - started) / 1000).toFixed(0)} s (${epochs} epochs); streams classified by its uint8 encoding, as devices run it`);

  started = performance.now();
  const [val, test] = [await embedImages(model, head, data.val, data.preprocessing), await embedImages(model, head, referenceTest, data.preprocessing)];
  const profile = buildReferenceProfile({
    labels: data.labels,
    embeddingSize: head.embeddingSize,
    head: { kernel: head.kernel, bias: head.bias },
    val: { embeddings: val.embeddings, labels: Int32Array.from(data.val.labels.subarray(0, data.val.count)) },
    test: { embeddings: test.embeddings, labels: Int32Array.from(referenceTest.labels.subarray(0, referenceTest.count)) },
    seed: 1,
  });
  const s = profile.summary;
  console.log(
    `reference profile in ${((performance.now() - started) / 1000).toFixed(1)} s: test accuracy ${percent(s.accuracy)}, T ${s.calibration.temperature.toFixed(2)}, ECE ${s.calibration.ece.before.toFixed(3)} -> ${s.calibration.ece.after.toFixed(3)}; ` +
      `thresholds GLR ${s.thresholds.classMix.toFixed(2)}, CUSUM ${s.thresholds.confidence.toFixed(2)}, MMD ${s.thresholds.embedding.toFixed(2)}`,
  );

  // Each kind's pool: the 7,000 stream images transformed once and classified once (glyphs: 2,000 rendered).
  started = performance.now();
  const random = mulberry32(7);
  const pools = new Map<StreamKind, Pool>();
  let base: Awaited<ReturnType<typeof embedImages>> | null = null; // the in-distribution pool's, reused by the prior shifts
  for (const kind of STREAM_KINDS) {
    let set: ImageSet;
    if (kind === 'glyphs') {
      const count = quick ? 300 : 2000;
      const pixels = new Uint8Array(count * PIXELS);
      for (let i = 0; i < count; i++) pixels.set(renderGlyph(GLYPHS[Math.floor(random() * GLYPHS.length)]!, { shift: Math.floor(random() * 5) - 2, ink: 180 + Math.floor(random() * 76) }), i * PIXELS);
      set = imageSet(pixels, new Int32Array(count).fill(-1));
    } else set = imageSet(transformPool(kind, streamSet.pixels, streamSet.count, random), streamSet.labels.subarray(0, streamSet.count));
    const reuse = kind === 'class-doubled' || kind === 'class-missing';
    const embedded: Awaited<ReturnType<typeof embedImages>> = reuse && base ? base : await embedImages(model, head, set, data.preprocessing);
    if (kind === 'in-distribution') base = embedded;
    const labels = kind === 'glyphs' ? new Int32Array(set.count).fill(-1) : Int32Array.from(set.labels.subarray(0, set.count));
    const k = data.labels.length;
    const byClass: number[][] = kind === 'glyphs' ? [Array.from({ length: set.count }, (_, i) => i)] : Array.from({ length: k }, () => []);
    if (kind !== 'glyphs') labels.forEach((label, i) => byClass[label]!.push(i));
    pools.set(kind, {
      kind,
      count: set.count,
      embeddings: embedded.embeddings,
      raw: embedded.probabilities,
      calibrated: calibratedRows(profile, embedded.embeddings, set.count),
      predicted: Int32Array.from({ length: set.count }, (_, i) => argmax(embedded.probabilities, i * k, k)),
      labels,
      byClass,
    });
  }
  console.log(`stream pools classified in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const settings: MonitorSettings = monitorSettingsSchema.parse({});
  const d = head.embeddingSize;
  const k = data.labels.length;
  const inDistribution = pools.get('in-distribution')!;

  // --- False alarms: in-distribution streams of HORIZON events, sessions independent or of one class --------------
  started = performance.now();
  let pushes = 0;
  const WINDOW = 50;
  const sortedReference = Float64Array.from(Array.from({ length: inDistribution.count }, (_, i) => inDistribution.calibrated[i * k + inDistribution.predicted[i]!]!)).sort();
  const falseAlarmRows: string[][] = [];
  for (const sessionClassShare of [0, 0.5]) {
    let ours = 0;
    const naive = { any: 0, bonferroni: 0 };
    for (let stream = 0; stream < COUNTS.nullStreams; stream++) {
      const monitor = StreamMonitor.create(profile, settings);
      const drawer = new EventDrawer(inDistribution, mulberry32(1000 + stream), 0, sessionClassShare);
      let alarmed = false;
      const windowPValues: number[] = [];
      let counts = new Float64Array(k);
      let confidences: number[] = [];
      for (let t = 0; t < HORIZON; t++) {
        const { index, device } = drawer.next();
        const result = push(monitor, inDistribution, index, device, d);
        pushes++;
        if (result.alarms.length) alarmed = true;
        counts[inDistribution.predicted[index]!]!++;
        confidences.push(result.probabilities[inDistribution.predicted[index]!]!);
        if ((t + 1) % WINDOW === 0) {
          // The per-window habit of today's tools: chi-square on the class mix and KS on confidence, p < 0.05 each window.
          windowPValues.push(chiSquareGoodnessOfFit(counts, profile.summary.predictedMix).pValue, ksTwoSampleSorted(Float64Array.from(confidences).sort(), sortedReference).pValue);
          counts = new Float64Array(k);
          confidences = [];
        }
      }
      if (alarmed) ours++;
      if (windowPValues.some((p) => p < 0.05)) naive.any++;
      if (windowPValues.some((p) => p < 0.05 / windowPValues.length)) naive.bonferroni++;
    }
    const shape = sessionClassShare ? `${percent(sessionClassShare, 0)} of sessions one class` : 'sessions of independent images';
    falseAlarmRows.push(
      [`${shape}: Edgeloop (GLR class mix + CUSUM confidence + MMD embeddings, thresholds simulated jointly)`, withInterval(ours, COUNTS.nullStreams)],
      [`${shape}: baseline chi-square + KS per ${WINDOW}-event window, p < 0.05`, withInterval(naive.any, COUNTS.nullStreams)],
      [`${shape}: baseline, Bonferroni over the ${(HORIZON / WINDOW) * 2} tests`, withInterval(naive.bonferroni, COUNTS.nullStreams)],
    );
  }
  const nullSeconds = (performance.now() - started) / 1000;
  console.log(`\nFalse alarms: ${COUNTS.nullStreams} in-distribution streams of ${HORIZON} events per shape, ${DEVICES} devices in sessions of mean ${MEAN_SESSION}; goal <= 5%`);
  printTable(['streams', 'streams with any alarm in 300 events [95% CI]'], falseAlarmRows);
  console.log(`profile's own validation: ${percent(profile.summary.falseAlarms.realizedRate ?? NaN)} on its simulated streams; monitor cost ${((nullSeconds * 1000) / pushes).toFixed(3)} ms/event`);

  // --- Detection: CHANGE_AT in-distribution events, then the shift -------------------------------------------------
  const referenceAccuracy = meanCorrect(inDistribution, new EventDrawer(inDistribution, mulberry32(5), 0), 20_000);
  const rows: string[][] = [];
  for (const kind of STREAM_KINDS.filter((kind) => kind !== 'in-distribution')) {
    const pool = pools.get(kind)!;
    const trueAccuracy = meanCorrect(pool, new EventDrawer(pool, mulberry32(6), 0), 20_000);
    const delays: number[] = [];
    const firstDetector = new Map<string, number>();
    let early = 0;
    for (let stream = 0; stream < COUNTS.shiftStreams; stream++) {
      const monitor = StreamMonitor.create(profile, settings);
      const before = new EventDrawer(inDistribution, mulberry32(2000 + stream), 0);
      const after = new EventDrawer(pool, mulberry32(3000 + stream), stream % k);
      for (let t = 0; t < CHANGE_AT + AFTER_CHANGE; t++) {
        const shifted = t >= CHANGE_AT;
        const { index, device } = (shifted ? after : before).next();
        const result = push(monitor, shifted ? pool : inDistribution, index, device, d);
        if (!result.alarms.length) continue;
        if (!shifted) {
          early++;
          break;
        }
        delays.push(t - CHANGE_AT + 1);
        firstDetector.set(result.alarms[0]!, (firstDetector.get(result.alarms[0]!) ?? 0) + 1);
        break;
      }
    }
    const drop = (referenceAccuracy - trueAccuracy) * 100;
    rows.push([
      kind,
      `${drop.toFixed(1)}`,
      withInterval(delays.length, COUNTS.shiftStreams - early),
      delays.length ? String(quantile(delays, 0.5)) : '–',
      delays.length ? String(quantile(delays, 0.9)) : '–',
      [...firstDetector].sort((a, b) => b[1] - a[1]).map(([name, n]) => `${name} ${n}`).join(', '),
      drop >= 5 ? (quantile(delays, 0.5) <= 300 && delays.length >= (COUNTS.shiftStreams - early) / 2 ? 'met' : 'NOT met') : 'drop < 5 pts',
    ]);
  }
  console.log(`\nDetection: ${COUNTS.shiftStreams} streams per shift, ${CHANGE_AT} in-distribution events then the shift (up to ${AFTER_CHANGE}); reference accuracy ${percent(referenceAccuracy)} on the stream pool`);
  printTable(['shift', 'accuracy drop (points)', `detected within ${AFTER_CHANGE} [95% CI]`, 'median delay (events)', 'p90 delay', 'first detector', 'goal: median <= 300 if drop >= 5'], rows);

  // --- Label-free accuracy at 1,000 events, and intervals from 5% biased reviews -------------------------------------
  const accuracyRows: string[][] = [];
  const reviewRows: string[][] = [];
  for (const kind of STREAM_KINDS) {
    const pool = pools.get(kind)!;
    const errors = { raw: [] as number[], cbpe: [] as number[], corrected: [] as number[] };
    for (let stream = 0; stream < COUNTS.accuracyStreams; stream++) {
      const monitor = StreamMonitor.create(profile, settings);
      const drawer = new EventDrawer(pool, mulberry32(4000 + stream), stream % k);
      let correct = 0;
      let raw = 0;
      for (let t = 0; t < 1000; t++) {
        const { index, device } = drawer.next();
        push(monitor, pool, index, device, d);
        correct += Number(pool.predicted[index] === pool.labels[index]);
        raw += pool.raw[index * k + pool.predicted[index]!]!;
      }
      const truth = correct / 1000;
      const { accuracy } = monitor.snapshot();
      errors.raw.push(Math.abs(raw / 1000 - truth) * 100);
      if (accuracy.expected !== null) errors.cbpe.push(Math.abs(accuracy.expected - truth) * 100);
      if (accuracy.labelShiftCorrected !== null) errors.corrected.push(Math.abs(accuracy.labelShiftCorrected - truth) * 100);
    }
    const mean = (values: number[]) => (values.length ? (values.reduce((a, b) => a + b, 0) / values.length).toFixed(2) : '–');
    accuracyRows.push([kind, mean(errors.raw), mean(errors.cbpe), mean(errors.corrected), kind === 'in-distribution' || kind.startsWith('class') ? (Number(mean(errors.corrected)) <= 2 ? 'met' : 'NOT met') : 'unseen images: estimate reads high']);
    reviewRows.push([kind, ...reviewCoverage(pool, profile, mulberry32(5000 + STREAM_KINDS.indexOf(kind)))]);
  }
  console.log(`\nLabel-free accuracy: mean |estimate - truth| in points over ${COUNTS.accuracyStreams} streams of 1,000 events`);
  printTable(['stream', 'raw max-probability (baseline)', 'CBPE (calibrated)', 'CBPE corrected for label shift (Edgeloop)', 'goal <= 2 points (in distribution, label shift)'], accuracyRows);
  console.log(`\nAccuracy from reviews: ${COUNTS.reviewTrials} trials of 1,000 events, ${percent(DEFAULT_REVIEW_SETTINGS.reviewRate, 0)} reviewed by the uncertainty-first policy (${percent(DEFAULT_REVIEW_SETTINGS.uniformShare, 0)} uniform); coverage of the 95% interval (goal >= 90%)`);
  printTable(['stream', 'naive labeled mean: coverage / mean bias', 'Hájek IPW: coverage / width', 'PPI (IPW rectifier): coverage / width'], reviewRows);
}

/** The reference CNN trained on train (val held out), its uint8 encoding (what a publish recommends for devices). */
async function trainedArtifacts(data: ReturnType<typeof loadFashionMnist>, test: ImageSet, epochs: number): Promise<ModelArtifacts> {
  const cached = path.join(os.tmpdir(), `edgeloop-monitor-bench-${full ? 'full' : 'sample'}-${epochs}.json`);
  if (args['reuse-model'] && fs.existsSync(cached)) {
    const stored = JSON.parse(fs.readFileSync(cached, 'utf8')) as Omit<ModelArtifacts, 'weightData'> & { weightData: string };
    return { ...stored, weightData: new Uint8Array(Buffer.from(stored.weightData, 'base64')) };
  }
  const trained = await train({ model: validateModelConfig({ architecture: 'reference-cnn', numClasses: 10 }), config: validateTrainConfig({ epochs, seed: 1 }), data: { ...data, test } });
  const artifacts = trained.artifacts.uint8;
  if (!artifacts) throw new Error('training gave no uint8 encoding');
  if (args['reuse-model']) fs.writeFileSync(cached, JSON.stringify({ ...artifacts, weightData: Buffer.from(artifacts.weightData).toString('base64') }));
  return artifacts;
}

function meanCorrect(pool: Pool, drawer: EventDrawer, n: number): number {
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const { index } = drawer.next();
    correct += Number(pool.predicted[index] === pool.labels[index]);
  }
  return correct / n;
}

/** Coverage and width of each estimator over trials: 1,000 events, reviews chosen by the policy, labels = truth. */
function reviewCoverage(pool: Pool, profile: ReferenceProfile, random: () => number): string[] {
  const k = profile.arrays.headBias.length;
  const stats = { naive: { covered: 0, bias: 0, n: 0 }, hajek: { covered: 0, width: 0, n: 0 }, ppi: { covered: 0, width: 0, n: 0 } };
  for (let trial = 0; trial < COUNTS.reviewTrials; trial++) {
    const drawer = new EventDrawer(pool, random, trial % k);
    const items: { correct: boolean; inclusionProbability: number; expectedCorrect: number }[] = [];
    let correct = 0;
    let expectedCorrect = 0;
    for (let t = 0; t < 1000; t++) {
      const { index } = drawer.next();
      const right = pool.predicted[index] === pool.labels[index];
      correct += Number(right);
      const f = pool.calibrated[index * k + pool.predicted[index]!]!;
      expectedCorrect += f;
      const pi = inclusionProbability(1 - f, profile.summary.meanUncertainty, DEFAULT_REVIEW_SETTINGS);
      if (random() < pi) items.push({ correct: right, inclusionProbability: pi, expectedCorrect: f });
    }
    const truth = correct / 1000;
    const covers = (interval: [number, number]) => interval[0] <= truth && truth <= interval[1];
    const naive = naiveLabelAccuracy(items);
    if (naive) {
      stats.naive.n++;
      stats.naive.covered += Number(covers(naive.interval));
      stats.naive.bias += naive.estimate - truth;
    }
    const hajek = hajekAccuracy(items);
    if (hajek) {
      stats.hajek.n++;
      stats.hajek.covered += Number(covers(hajek.interval));
      stats.hajek.width += hajek.interval[1] - hajek.interval[0];
    }
    const ppi = ppiAccuracy(items, { events: 1000, expectedCorrect });
    if (ppi) {
      stats.ppi.n++;
      stats.ppi.covered += Number(covers(ppi.interval));
      stats.ppi.width += ppi.interval[1] - ppi.interval[0];
    }
  }
  const cell = (covered: number, n: number, extra: string) => (n ? `${percent(covered / n)} / ${extra}` : '–');
  return [
    cell(stats.naive.covered, stats.naive.n, `${((stats.naive.bias / Math.max(1, stats.naive.n)) * 100).toFixed(1)} pts`),
    cell(stats.hajek.covered, stats.hajek.n, `${((stats.hajek.width / Math.max(1, stats.hajek.n)) * 100).toFixed(1)} pts`),
    cell(stats.ppi.covered, stats.ppi.n, `${((stats.ppi.width / Math.max(1, stats.ppi.n)) * 100).toFixed(1)} pts`),
  ];
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
