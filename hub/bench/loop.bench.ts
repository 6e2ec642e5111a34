/**
 * The loop benchmark: one turn of the loop per shift, on the product's own path, nothing faked. A hub in this process
 * (PGlite, embedded S3, HTTP on a loopback port, the training, reference-profile, monitor, rollout and pipeline
 * workers), clients with real tokens over HTTP:
 *   - base data: Fashion-MNIST's 60,000 train images and the second half of t10k as the test split (imported as
 *     `edgeloop import idx` does); the first half of t10k never enters a dataset: it is what devices photograph.
 *   - champion: the reference CNN trained on the base version through the training queue, published, promoted.
 *   - devices (replay's simulated devices, canary-aware) classify the shifted first half; a labeler (a trusted-labeler
 *     rule accepts its images) answers at most 500 items of the hub's review queue in its order, as the PWA does: the
 *     label with its assignment id, then the image shared through a presigned upload.
 *   - trigger (as `edgeloop pipeline run` does, with a ci token): the clock starts; build-dataset, train (the
 *     default fine-tune of the champion), evaluate, gate, publish, canary while the devices keep classifying the
 *     stream; the clock stops when the channel's signed pointer names the challenger for every device.
 *   - the devices classify the shifted second half ("the rest"): accuracy after, beside the champion's on the very
 *     same images (classifyBatch) and both models' on the clean second half.
 * Each shift has its own project (base import and champion alike): the pipeline takes every accepted reviewed image
 * of a project, so shifts sharing one would train on, and hold out, each other's reviews.
 * Baseline, measured in the same run: the champion with prior correction only (its probabilities reweighted by the
 * class mix the hub's monitor estimated on the champion's stream over the train set's uniform mix; no training, no
 * labels). It costs nothing, and says how much of each loss a label-shift fix alone explains: all of a changed class
 * mix in principle, none of a covariate shift.
 *   npm run bench (about 30 minutes on 2 cores)
 *   npx tsx hub/bench/loop.bench.ts [--epochs n] [--shifts low-contrast,rotated-30,class-mix] [--sample]
 */
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type PipelineSettingsInput, type TopClasses } from '@edgeloop/shared';
import { FASHION_MNIST_DEBIAN_DIR } from '@edgeloop/training/test-support';
import { createToken } from '../src/auth/token.service';
import { stepLine } from '../src/cli/pipeline-commands';
import { type RemoteHub, remoteHub } from '../src/cli/remote-hub';
import { type ReplayImage, derivedUuid, replayDeviceId, replayImages, replayPredictionId } from '../src/cli/replay';
import { type ReplayModel, classifyBatch, loadReplayModel } from '../src/cli/replay-model';
import { processedEvents, waitForMonitor } from '../src/cli/replay-reviews';
import { type IdxPair, importIdx } from '../src/datasets/import-idx';
import { commitVersion } from '../src/datasets/version.service';
import { openPglite } from '../src/db/database';
import { FASHION_MNIST_LABELS, fashionMnistSource } from '../src/demo';
import { encodeGreyscalePng } from '../src/images/png';
import { startMonitorWorker } from '../src/monitoring/monitor.job';
import { startReferenceProfileWorker } from '../src/monitoring/reference-profile.job';
import { streamPriors } from '../src/pipelines/stream-priors';
import { startPipelineWorker } from '../src/pipelines/pipeline-worker';
import { createProject } from '../src/projects/project.service';
import { progressBar } from '../src/progress';
import { startRolloutWorker } from '../src/registry/rollout-check.job';
import { createHubServer, listen } from '../src/server';
import { sha256Hex } from '../src/sha256';
import { startTrainingWorker } from '../src/training/training-worker';
import { freshSetup, machineLine, printTable } from './bench-setup';
import { LOOP_SHIFTS, type LoopShift, idxBytes, imageAt, shiftedImages, streamIndices, testHalves } from './loop-streams';
import { loadFashionTestSplit } from './monitor-streams';

const { values: args } = parseArgs({ options: { epochs: { type: 'string' }, shifts: { type: 'string' }, sample: { type: 'boolean', default: false } } });
/**
 * The champion's epochs. 2 (88.1% on the clean test half): the bench took 30 minutes on 2 cores, most of it three
 * imports and three champions, and each challenger's training decoding its new version; 3 (89.5%) adds 40 s a shift.
 */
const EPOCHS = Number(args.epochs ?? process.env.LOOP_BENCH_EPOCHS ?? 2);
const SHIFTS = args.shifts ? LOOP_SHIFTS.filter((s) => args.shifts!.split(',').includes(s.name)) : LOOP_SHIFTS;
const MAX_REVIEWS = 500;
/** Simulated devices: with the default 10% canary share about 10 of them run the challenger first. */
const DEVICES = 100;
/** Images the devices classify between two looks at the channel while the canary runs. */
const CANARY_CHUNK = 400;
/** A run not ended this long after its trigger is cancelled and reported so. */
const RUN_TIMEOUT_SECONDS = 900;
const MODEL = 'fashion-cnn';
const CHANNEL = 'production';
const SESSION = 'phones';
const LABELER = 'bench-labeler';

const percent = (x: number | null, digits = 1) => (x === null ? '-' : `${(x * 100).toFixed(digits)}%`);
const seconds = (s: number | null) => (s === null ? '-' : `${s.toFixed(0)} s`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface ShiftResult {
  shift: LoopShift;
  championClean: number;
  championShifted: number;
  priorCorrected: number | null;
  /** Devices on the rest after the loop; null when the challenger did not reach them (they keep the champion). */
  after: number | null;
  challengerShifted: number | null;
  challengerClean: number | null;
  reviews: { answered: number; queued: number; shared: number; accepted: number; refused: string[]; byLabel: Record<string, number> };
  verdict: string;
  outcome: string;
  triggerToAllSeconds: number | null;
  steps: Record<string, number | null>;
  holdout: { items: number; champion: number; challenger: number } | null;
  baseTest: { items: number; champion: number; challenger: number } | null;
  priorCorrection: boolean;
}

/** Accuracy of top-1 predictions against labels. */
function accuracyOf(results: { top: TopClasses }[], labels: readonly string[]): number {
  return results.filter((r, i) => r.top[0]!.label === labels[i]).length / Math.max(labels.length, 1);
}

async function classifyAll(model: ReplayModel, images: readonly Uint8Array[]): Promise<{ top: TopClasses }[]> {
  const out: { top: TopClasses }[] = [];
  for (let from = 0; from < images.length; from += 256) out.push(...(await classifyBatch(model, images.slice(from, from + 256))));
  return out;
}

/**
 * Prior correction of the champion's answers: p(y|x) q(y) / p_train(y), the train mix uniform (Fashion-MNIST's is).
 * Over the device's top 5 only (what classifyBatch keeps): the other classes hold almost no probability.
 */
function priorCorrectedAccuracy(results: { top: TopClasses }[], labels: readonly string[], priors: number[]): number {
  const index = new Map(FASHION_MNIST_LABELS.map((l, i) => [l, i]));
  let right = 0;
  results.forEach((r, i) => {
    let best = r.top[0]!;
    let bestScore = -1;
    for (const t of r.top) {
      const score = t.probability * priors[index.get(t.label)!]!;
      if (score > bestScore) [best, bestScore] = [t, score];
    }
    if (best.label === labels[i]) right++;
  });
  return right / Math.max(labels.length, 1);
}

/** Queues a training run and follows it with a progress bar; the run id once it succeeded. */
async function trainChampion(hub: RemoteHub, project: string, datasetVersion: string): Promise<{ runId: string; testAccuracy: number }> {
  const run = await hub.runs.create.mutate({ project, datasetVersion, train: { epochs: EPOCHS, seed: 1 } });
  const bar = progressBar(`${project}: train the champion`);
  try {
    for (;;) {
      const current = await hub.runs.get.query({ runId: run.id, logLines: 0 });
      const p = current.progress;
      if (p) bar.update((p.epoch - 1) * p.steps + p.step, p.epochs * p.steps);
      if (current.status === 'succeeded') return { runId: run.id, testAccuracy: current.metrics.testAccuracy ?? NaN };
      if (current.status === 'failed' || current.status === 'cancelled') throw new Error(`champion run ${run.id} ${current.status}: ${current.error ?? ''}`);
      await sleep(1000);
    }
  } finally {
    bar.stop();
  }
}

/**
 * The labeler: takes the hub's review queue among the stream's predictions in its order (feedback.nextReviews, a
 * page at a time, at most 500 candidate ids per call as the PWA's history holds), answers each with the true label
 * and its assignment id, then shares the image as the PWA does (createUpload, PUT to the presigned URL,
 * completeUpload naming the prediction). Stops at `max` answers.
 */
async function labelFromQueue(
  hub: RemoteHub,
  project: string,
  predictions: Map<string, { label: string; pixels: Uint8Array }>,
  max: number,
): Promise<ShiftResult['reviews']> {
  const ids = [...predictions.keys()];
  const seen = new Set<string>();
  const result: ShiftResult['reviews'] = { answered: 0, queued: 0, shared: 0, accepted: 0, refused: [], byLabel: {} };
  const bar = progressBar(`${project}: labeler answers the review queue`);
  for (let from = 0; from < ids.length && result.answered < max; from += 500) {
    const predictionIds = ids.slice(from, from + 500);
    while (result.answered < max) {
      const page = await hub.feedback.nextReviews.mutate({ project, limit: 50, predictionIds });
      const fresh = page.reviews.filter((r) => !seen.has(r.assignmentId)).slice(0, max - result.answered);
      if (fresh.length === 0) break;
      fresh.forEach((r) => seen.add(r.assignmentId));
      const createdAt = new Date().toISOString();
      await hub.feedback.syncCorrections.mutate({
        project,
        corrections: fresh.map((r) => ({ id: derivedUuid('review', r.assignmentId), predictionId: r.predictionId, label: predictions.get(r.predictionId)!.label, createdAt, assignmentId: r.assignmentId })),
      });
      result.answered += fresh.length;
      for (const r of fresh) {
        const { label, pixels } = predictions.get(r.predictionId)!;
        result.byLabel[label] = (result.byLabel[label] ?? 0) + 1;
        const png = encodeGreyscalePng(pixels, 28, 28);
        try {
          const ticket = await hub.items.createUpload.mutate({ project, sha256: sha256Hex(png), bytes: png.length, contentType: 'image/png', label, split: 'train' });
          const put = await fetch(ticket.url, { method: 'PUT', body: new Uint8Array(png), headers: ticket.headers });
          if (!put.ok) throw new Error(`the object store refused the upload (HTTP ${put.status})`);
          const item = await hub.items.completeUpload.mutate({ uploadId: ticket.uploadId, predictionId: r.predictionId, source: 'review' });
          result.shared++;
          if (item.review?.status === 'accepted') result.accepted++;
        } catch (error) {
          if (result.refused.length < 3) result.refused.push((error as Error).message);
        }
      }
      bar.update(result.answered, max);
    }
  }
  bar.stop();
  result.queued = seen.size;
  return result;
}

const setup = await freshSetup(() => openPglite(fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-bench-db-'))));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-loop-bench-'));
const server = createHubServer(setup.deps, { webRoot: '/nonexistent' });
const workers: { stop(): Promise<void> }[] = [];
try {
  const { deps } = setup;
  await deps.keys.ready();
  // Hub and clients share one event loop here, and classifying blocks it for seconds: with Node's 5 s keep-alive the
  // hub closed idle sockets the clients' fetch reused in the same turn (ECONNRESET). The clients' 4 s timer now always
  // ends them first.
  server.keepAliveTimeout = 60_000;
  const address: AddressInfo = await listen(server, 0, '127.0.0.1');
  const base = `http://127.0.0.1:${address.port}`;
  workers.push(
    await startTrainingWorker(deps, { name: 'bench-trainer' }),
    await startReferenceProfileWorker(deps, { name: 'bench-profiles' }),
    await startMonitorWorker(deps, { name: 'bench-monitor' }),
    await startRolloutWorker(deps, { name: 'bench-rollout' }),
    await startPipelineWorker(deps, { name: 'bench-pipeline' }),
  );

  // --sample: the repo's sample even where the full set is installed (a quick check of the whole path).
  const debianDir = args.sample ? '/nonexistent' : FASHION_MNIST_DEBIAN_DIR;
  const split = await loadFashionTestSplit(debianDir);
  const source = fashionMnistSource(debianDir);
  const halves = testHalves(split);
  // The base version's test split: the second half of t10k, as IDX files the importer reads.
  const restIdx = idxBytes(split, halves.rest);
  fs.writeFileSync(path.join(tmp, 'rest-images-idx3-ubyte'), restIdx.images);
  fs.writeFileSync(path.join(tmp, 'rest-labels-idx1-ubyte'), restIdx.labels);
  const pairs: IdxPair[] = [
    source.pairs.find((p) => p.split === 'train')!,
    { images: path.join(tmp, 'rest-images-idx3-ubyte'), labels: path.join(tmp, 'rest-labels-idx1-ubyte'), split: 'test' },
  ];
  const dataLine = split.kind === 'full' ? 'full Fashion-MNIST' : 'SAMPLE: install dataset-fashion-mnist for the full set';
  console.log(`\nloop benchmark on ${dataLine}: champion ${EPOCHS} epochs; devices ${DEVICES}; at most ${MAX_REVIEWS} reviews per shift`);

  const results: ShiftResult[] = [];
  for (const shift of SHIFTS) {
    const project = `loop-${shift.name}`;
    const ref = { project, model: MODEL, channel: CHANNEL };
    // --- Base data and champion ------------------------------------------------------------------------------------
    const created = await createProject(deps, { slug: project, labels: FASHION_MNIST_LABELS, createdBy: 'bench' });
    let bar = progressBar(`${project}: import`);
    await importIdx(deps, created, pairs, bar.update);
    bar.stop();
    const { version: baseVersion } = await commitVersion(deps, { project, message: `Fashion-MNIST train + second half of t10k (${dataLine})`, createdBy: 'bench' });
    const token = async (role: 'admin' | 'labeler' | 'device' | 'ci', name: string) =>
      remoteHub({ hub: base, token: (await createToken(deps, { name, role, projects: role === 'admin' ? null : [project], createdBy: 'bench' })).secret });
    const admin = await token('admin', `bench-admin-${shift.name}`);
    const devices = await token('device', `bench-devices-${shift.name}`);
    const labeler = await token('labeler', LABELER);
    const ci = await token('ci', `bench-ci-${shift.name}`);
    const champion = await trainChampion(admin, project, baseVersion.id);
    const published = await admin.registry.publish.mutate({ runId: champion.runId, model: MODEL });
    await admin.registry.promote.mutate({ ...ref, version: published.version, reason: 'loop benchmark: champion' });

    // --- Settings, as a user would set them for this -------------------------------------------------------------
    const indices = streamIndices(split, halves.stream, shift);
    const restIndices = streamIndices(split, halves.rest, shift);
    // The review rate that queues a little over MAX_REVIEWS of the stream (the policy queues more where it doubts).
    const reviewRate = Math.min(1, Number(((1.1 * MAX_REVIEWS) / indices.length).toFixed(3)));
    await admin.monitoring.settings.set.mutate({ project, reviewRate });
    await admin.labeling.settings.set.mutate({ project, acceptance: { agreement: 2, trustedLabelers: [LABELER] } });
    // Triggers off (the bench starts the run, as CI would); prior correction for the changed class mix.
    const priorCorrection = shift.classMix !== null;
    const settings: PipelineSettingsInput = { triggers: { alertOpenMinutes: null, newReviews: null, schedule: null }, training: { priorCorrection } };
    await admin.pipeline.settings.set.mutate({ project, settings });

    // --- Devices classify the shifted stream; the labeler answers the queue --------------------------------------
    const stream = shiftedImages(split, indices, shift, 'review');
    const championModel = await loadReplayModel(devices, base, ref);
    const monitored = { ...ref, version: championModel.version };
    const before = await processedEvents(admin, monitored);
    bar = progressBar(`${project}: devices classify the stream`);
    const sent = await replayImages(devices, championModel, stream, { project, devices: DEVICES, reviewRate: 0, session: SESSION, total: stream.length, labelled: true, onProgress: bar.update });
    bar.stop();
    bar = progressBar(`${project}: hub monitor`);
    const monitor = await waitForMonitor(admin, monitored, { before, expected: sent.predictions.inserted, timeoutSeconds: 600, onProgress: bar.update });
    bar.stop();
    if (!monitor.caughtUp) console.log(`${project}: the monitor processed ${monitor.processed} of ${monitor.expected} events${monitor.stalled ? `: ${monitor.stalled}` : ''}`);
    // The prediction ids replay gave: derived from session, device, image and version (replay.ts).
    const predictions = new Map<string, { label: string; pixels: Uint8Array }>();
    stream.forEach((image, i) => {
      const deviceId = replayDeviceId(SESSION, DEVICES, i);
      const id = replayPredictionId({ session: SESSION, project, model: MODEL, version: championModel.version, channel: CHANNEL, deviceId, key: image.key, pixels: image.pixels! });
      predictions.set(id, { label: image.label!, pixels: image.pixels! });
    });
    const reviews = await labelFromQueue(labeler, project, predictions, MAX_REVIEWS);
    console.log(`${project}: reviewed per true class: ${FASHION_MNIST_LABELS.map((l) => `${l} ${reviews.byLabel[l] ?? 0}`).join(', ')}`);

    // --- Before: the champion on the rest of the stream (the very images devices classify after) and clean ------
    const rest = shiftedImages(split, restIndices, shift, 'rest');
    const restLabels = rest.map((r) => r.label!);
    const championShiftedResults = await classifyAll(championModel, rest.map((r) => r.pixels!));
    const cleanImages = Array.from({ length: halves.rest[1] - halves.rest[0] }, (_, k) => imageAt(split, halves.rest[0] + k));
    const cleanLabels = cleanImages.map((_, k) => split.labelNames[split.labels[halves.rest[0] + k]!]!);
    const championClean = accuracyOf(await classifyAll(championModel, cleanImages), cleanLabels);
    const priors = await streamPriors(deps, { projectId: created.id, model: MODEL, version: championModel.version, channel: CHANNEL });
    championModel.dispose();
    if (priors) {
      const mix = priors.priors.map((q, c) => `${FASHION_MNIST_LABELS[c]} ${(q * 100).toFixed(0)}%`).join(', ');
      console.log(`${project}: the monitor's class-mix estimate on the champion's stream (EM, ${priors.events} events): ${mix}`);
    }

    // --- The loop: trigger, then devices keep classifying while the canary runs ---------------------------------
    const triggered = performance.now();
    const started = await ci.pipeline.start.mutate({ project, note: 'loop benchmark' });
    console.log(`${project}: pipeline run ${started.id} started (champion v${started.championVersion})`);
    const shown = new Map<string, string>();
    let promotedAt: number | null = null;
    let chunk = 0;
    for (;;) {
      const run = await admin.pipeline.get.query({ pipelineRunId: started.id, logLines: 0 });
      for (const step of run.steps) {
        const line = stepLine({ ...step, seconds: step.status === 'running' ? null : step.seconds });
        if (shown.get(step.step) !== line && !(step.status === 'pending' && !step.error)) console.log(`  ${line}`);
        shown.set(step.step, line);
      }
      const now = await loadReplayModel(devices, base, ref);
      try {
        if (run.challengerVersion !== null && now.version === run.challengerVersion && !now.candidate) {
          promotedAt = performance.now();
          break;
        }
        if (run.status !== 'running') break;
        if (performance.now() - triggered > RUN_TIMEOUT_SECONDS * 1000) {
          // Shown as the outcome: a loop that does not end is what the table must say, not hang on.
          await admin.pipeline.cancel.mutate({ pipelineRunId: started.id });
          console.log(`${project}: no end after ${RUN_TIMEOUT_SECONDS} s (step ${run.currentStep}); run cancelled`);
          break;
        }
        if (now.candidate) {
          // Devices keep classifying the stream (new events of the same devices) so the rollout check can decide.
          const from = (chunk++ * CANARY_CHUNK) % stream.length;
          const images: ReplayImage[] = [...stream, ...stream].slice(from, from + CANARY_CHUNK).map((image) => ({ ...image, key: `canary-${chunk}/${image.key}` }));
          await replayImages(devices, now, images, { project, devices: DEVICES, reviewRate: 0, session: SESSION, total: images.length, labelled: true });
        } else await sleep(2000);
      } finally {
        now.dispose();
      }
    }
    // The run ends at the rollout step's next look (every 10 s): its steps' times are final then.
    let run = await admin.pipeline.get.query({ pipelineRunId: started.id, logLines: 0 });
    for (let waited = 0; run.status === 'running' && waited < 60; waited++) {
      await sleep(1000);
      run = await admin.pipeline.get.query({ pipelineRunId: started.id, logLines: 0 });
    }
    const verdict = run.verdict ? (run.verdict.promote ? 'promote' : `refused: ${run.verdict.reason}`) : `no verdict: ${run.reason ?? run.status}`;
    console.log(`${project}: pipeline run ${run.status}${run.outcome ? ` (${run.outcome})` : ''}: ${run.reason ?? ''}`);

    // --- After: the devices classify the rest with whatever the channel now gives them ------------------------
    let after: number | null = null;
    let challengerClean: number | null = null;
    /** The challenger on the rest: what the devices measured, or, where it was not promoted, classifyBatch. */
    let challengerShifted: number | null = null;
    if (promotedAt !== null) {
      const afterModel = await loadReplayModel(devices, base, ref);
      try {
        bar = progressBar(`${project}: devices classify the rest`);
        const summary = await replayImages(devices, afterModel, rest, { project, devices: DEVICES, reviewRate: 0, session: SESSION, total: rest.length, labelled: true, onProgress: bar.update });
        bar.stop();
        after = challengerShifted = summary.accuracy;
        challengerClean = accuracyOf(await classifyAll(afterModel, cleanImages), cleanLabels);
      } finally {
        afterModel.dispose();
      }
    } else if (run.training?.runId) {
      // Devices keep the champion (after = before). What the refused challenger would have given, as an engineer
      // looks at a candidate: its training run published by hand to a channel no device follows.
      const staging = { ...ref, channel: 'loop-bench-staging' };
      const candidate = await admin.registry.publish.mutate({ runId: run.training.runId, model: MODEL });
      await admin.registry.promote.mutate({ ...staging, version: candidate.version, reason: 'loop benchmark: the challenger the loop did not promote, measured' });
      const candidateModel = await loadReplayModel(devices, base, staging);
      try {
        challengerShifted = accuracyOf(await classifyAll(candidateModel, rest.map((r) => r.pixels!)), restLabels);
        challengerClean = accuracyOf(await classifyAll(candidateModel, cleanImages), cleanLabels);
      } finally {
        candidateModel.dispose();
      }
    }
    const stepSeconds = Object.fromEntries(run.steps.map((s) => [s.step, s.seconds]));
    const setOf = (set: string) => {
      const found = run.evaluation?.sets.find((s) => s.set === set);
      return found ? { items: found.items, champion: found.champion.accuracy, challenger: found.challenger.accuracy } : null;
    };
    results.push({
      shift,
      championClean,
      championShifted: accuracyOf(championShiftedResults, restLabels),
      priorCorrected: priors ? priorCorrectedAccuracy(championShiftedResults, restLabels, priors.priors) : null,
      after,
      challengerShifted,
      challengerClean,
      reviews,
      verdict,
      outcome: run.outcome ?? run.status,
      triggerToAllSeconds: promotedAt === null ? null : (promotedAt - triggered) / 1000,
      steps: stepSeconds,
      holdout: setOf('holdout'),
      baseTest: setOf('base-test'),
      priorCorrection,
    });
  }

  // --- The tables -------------------------------------------------------------------------------------------------
  console.log(`\nThe loop on ${dataLine}: per shift, a champion (reference CNN, ${EPOCHS} epochs, seed 1) on the train images; devices (${DEVICES}) classify the shifted first half of t10k, a trusted labeler answers at most ${MAX_REVIEWS} items of the hub's review queue sharing the images, the pipeline runs with default settings (triggers off; prior correction on for the class mix), the canary decides by itself; accuracy on the shifted second half ("rest"). Recovered = (challenger on rest - before) / (champion clean - before). Baseline: the champion prior-corrected to the monitor's class-mix estimate (no training).`);
  console.log(machineLine());
  printTable(
    ['shift', 'champion clean', 'before: champion on rest', 'baseline: prior correction only', 'challenger on rest', 'recovered', 'after one loop: devices on rest', 'challenger clean', 'reviews used (queued, images accepted)', 'gate', 'outcome', 'trigger -> all devices', 'train / evaluate / canary (other steps)'],
    results.map((r) => {
      const other = ['build-dataset', 'gate', 'publish'].reduce((sum, s) => sum + (r.steps[s] ?? 0), 0);
      const recovered = r.challengerShifted === null ? null : (r.challengerShifted - r.championShifted) / Math.max(r.championClean - r.championShifted, 1e-9);
      return [
        `${r.shift.name} (${r.shift.description})${r.priorCorrection ? ', priorCorrection on' : ''}`,
        percent(r.championClean),
        percent(r.championShifted),
        percent(r.priorCorrected),
        `${percent(r.challengerShifted)}${r.after === null && r.challengerShifted !== null ? ' (not promoted; measured on a staging channel)' : ''}`,
        recovered === null ? '-' : `${(recovered * 100).toFixed(0)}%`,
        r.after === null ? `${percent(r.championShifted)} (champion kept)` : percent(r.after),
        percent(r.challengerClean),
        `${r.reviews.answered} (${r.reviews.queued}, ${r.reviews.accepted})`,
        r.verdict,
        r.outcome,
        seconds(r.triggerToAllSeconds),
        `${seconds(r.steps.train ?? null)} / ${seconds(r.steps.evaluate ?? null)} / ${seconds(r.steps.rollout ?? null)} (${seconds(other)})`,
      ];
    }),
  );
  // The pipeline's own evaluation (the encoding devices run), which the gate judged.
  const pair = (set: { items: number; champion: number; challenger: number } | null) => (set ? `${percent(set.champion)} -> ${percent(set.challenger)} (${set.items})` : '-');
  printTable(
    ['shift', 'holdout: champion -> challenger (items)', 'base test: champion -> challenger (items)', 'images refused on upload'],
    results.map((r) => [r.shift.name, pair(r.holdout), pair(r.baseTest), r.reviews.refused.join('; ') || 'none']),
  );
} finally {
  for (const worker of workers.reverse()) await worker.stop();
  server.closeAllConnections();
  server.close();
  await setup.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}

