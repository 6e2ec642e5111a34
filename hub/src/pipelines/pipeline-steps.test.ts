/**
 * The product's build-dataset, train and publish steps for real (a published tiny Fashion-MNIST model as the
 * champion, accepted reviewed images, the training worker), with evaluate, gate and rollout standing in (each has
 * its own tests, and the loop e2e runs all six). Also: the hash split is deterministic and near 80/10/10, and the holdout size rule.
 */
import crypto from 'node:crypto';
import type { ManifestItem, TrainConfig } from '@edgeloop/shared';
import { FASHION_LABELS, loadFashionMnist } from '@edgeloop/training/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishTinyVersion } from '../../test/tiny-model-version';
import { DATABASES, type TestHub, createTestHub } from '../../test/test-hub';
import { inBatches, ingestCandidates } from '../datasets/ingest.service';
import { loadManifest } from '../datasets/version.service';
import { reviewItems } from '../db/schema';
import type { Caller } from '../deps';
import { encodeGreyscalePng } from '../images/png';
import { createProject, getProject } from '../projects/project.service';
import { promote } from '../registry/channel.service';
import { requireRun } from '../training/run.service';
import { startTrainingWorker } from '../training/training-worker';
import { holdoutSize, mergeItems, splitOfSha256 } from './build-dataset.step';
import { sha256Hex } from '../sha256';
import { gateStep } from './gate.step';
import type { StepRegistry } from './pipeline-step.job';
import { startPipelineWorker } from './pipeline-worker';
import { cancelPipelineRun, getPipelineRun, startPipelineRun } from './pipeline.service';
import { runViewOf } from './pipeline-run-view';
import type { StepContext } from './pipeline-step';
import { trainStep } from './train.step';
import { rolloutStep } from './rollout.step';
import { PIPELINE_STEP_REGISTRY } from './step-registry';
import { setPipelineSettings } from './pipeline-settings.service';

const engineer: Caller = { tokenId: null, name: 'test-engineer', role: 'engineer', projects: null };

describe('the hash split and the holdout size', () => {
  it('puts the same sha256 in the same split every time, about 80/10/10 over many', () => {
    const counts = { train: 0, val: 0, test: 0 };
    for (let i = 0; i < 20_000; i++) {
      const sha = sha256Hex(`item ${i}`);
      const split = splitOfSha256(sha);
      expect(splitOfSha256(sha)).toBe(split);
      counts[split]++;
    }
    // Binomial standard deviations at n = 20,000: 57 (train), 42 (val, test); bounds at about 5 of them.
    expect(Math.abs(counts.train - 16_000)).toBeLessThan(300);
    expect(Math.abs(counts.val - 2_000)).toBeLessThan(220);
    expect(Math.abs(counts.test - 2_000)).toBeLessThan(220);
    expect(splitOfSha256('00000000'.padEnd(64, 'f'))).toBe('train');
    expect(splitOfSha256('e6666667'.padEnd(64, '0'))).toBe('test');
  });

  it("gives a new reviewed item its hash split, or train when the base has no such split; a base item keeps its own", () => {
    // Hashes chosen by their first 32 bits: 0x00.. is train, 0xcd.. (0.80) val, 0xf0.. test.
    const sha = (prefix: string, n: number) => `${prefix}${String(n).padStart(8, '0')}`.padEnd(64, '0');
    const reviewed = (sha256: string) => ({ sha256, label: 'Shirt', predictionId: null, rule: 'person' as const, decidedAt: new Date(0) });
    const added = [reviewed(sha('0000', 1)), reviewed(sha('cd00', 2)), reviewed(sha('f000', 3))];
    expect(added.map((a) => splitOfSha256(a.sha256))).toEqual(['train', 'val', 'test']);
    const noVal = [{ sha256: sha('1111', 4), label: 'Coat', split: 'train' as const }, { sha256: sha('2222', 5), label: 'Coat', split: 'test' as const }];
    expect(mergeItems(noVal, added, new Set()).map((i) => [i.sha256.slice(0, 4), i.split])).toEqual([['1111', 'train'], ['2222', 'test'], ['0000', 'train'], ['cd00', 'train'], ['f000', 'test']]);
    const withVal = [...noVal, { sha256: sha('3333', 6), label: 'Coat', split: 'val' as const }];
    expect(mergeItems(withVal, added, new Set()).filter((i) => i.origin).map((i) => i.split)).toEqual(['train', 'val', 'test']);
    // A reviewed base item keeps its split whatever its hash says; a held-out one leaves the version.
    const relabelled = mergeItems([{ sha256: sha('cd00', 2), label: 'Coat', split: 'test' }], added.slice(1, 2), new Set([sha('2222', 5)]));
    expect(relabelled).toEqual([{ sha256: sha('cd00', 2), label: 'Shirt', split: 'test', origin: { predictionId: null, acceptedBy: 'person' } }]);
  });

  it('holds out the share, at least minItems when there are that many, none when fewer', () => {
    const holdout = { share: 0.25, minItems: 10 };
    expect(holdoutSize(9, holdout)).toBe(0);
    expect(holdoutSize(10, holdout)).toBe(10);
    expect(holdoutSize(20, holdout)).toBe(10);
    expect(holdoutSize(60, holdout)).toBe(15);
    expect(holdoutSize(1000, holdout)).toBe(250);
  });
});

describe.each(DATABASES)('the build-dataset, train and publish steps, $kind', ({ kind, skip }) => {
  let hub: TestHub;
  let champion: Awaited<ReturnType<typeof publishTinyVersion>>;
  /** Accepted reviewed images, oldest decision first: [sha256, label]. */
  const reviewed: { sha256: string; label: string; rule: 'person' | 'agreement' }[] = [];
  beforeAll(async () => {
    if (skip) return;
    hub = await createTestHub(kind);
    champion = await publishTinyVersion(hub, { project: 'fash', model: 'fash-cnn', counts: { train: 300, val: 0, test: 100 } });
    await promote(hub.deps, engineer, { project: 'fash', model: 'fash-cnn', channel: 'production', version: 1, reason: 'first' });
    await setPipelineSettings(hub.deps, engineer, { project: 'fash', settings: { holdout: { share: 0.25, minItems: 10 }, training: { warmStart: false } } });

    // Images from devices: stored once (blobs and objects, here through another project's import), then accepted as
    // review items of this one. The first is an image the base has already, relabelled by its reviewer.
    const sample = loadFashionMnist(undefined, { valCount: 0 });
    const candidates = [0, ...Array.from({ length: 59 }, (_, i) => 1000 + i)].map((index) => ({
      bytes: encodeGreyscalePng(sample.train.pixels.subarray(index * 784, (index + 1) * 784), 28, 28),
      contentType: 'image/png' as const,
      width: 28,
      height: 28,
      label: FASHION_LABELS[sample.train.labels[index]!]!,
      split: 'train' as const,
      source: 'idx' as const,
    }));
    const donor = await createProject(hub.deps, { slug: 'donor', labels: FASHION_LABELS, createdBy: 'test' });
    await ingestCandidates(hub.deps, donor, inBatches(candidates), { total: candidates.length });
    const { id: projectId } = await getProject(hub.deps, 'fash');
    const t0 = Date.parse('2026-11-01T00:00:00Z');
    for (const [i, candidate] of candidates.entries()) {
      const sha256 = crypto.createHash('sha256').update(candidate.bytes).digest('hex');
      // The relabelled base image says Shirt, whatever it was.
      const label = i === 0 ? 'Shirt' : candidate.label;
      const rule = i % 3 === 0 ? 'agreement' : 'person';
      reviewed.push({ sha256, label, rule });
      await hub.deps.db.insert(reviewItems).values({ projectId, sha256, source: 'review', status: 'accepted', label, decidedBy: rule, decisionRule: rule, decidedAt: new Date(t0 + i * 60_000) });
    }
  });
  afterAll(() => hub?.close());

  /** The product's steps, but evaluate, gate and rollout (built elsewhere) stand in with fixed answers. */
  const registry: StepRegistry = {
    ...PIPELINE_STEP_REGISTRY,
    evaluate: { step: 'evaluate', inputs: async ({ outputsOf }) => ({ run: outputsOf('train').runId }), execute: async () => ({ status: 'done', outputs: { encoding: 'uint8', sets: [], championBytes: 1, challengerBytes: 1 } }) },
    gate: { step: 'gate', inputs: async ({ outputsOf }) => outputsOf('evaluate'), execute: async () => ({ status: 'done', outputs: { promote: true, checks: [], reason: 'stand-in' } }), outcome: gateStep.outcome },
    rollout: {
      step: 'rollout',
      inputs: async ({ outputsOf }) => outputsOf('publish'),
      execute: async ({ outputsOf }) => ({ status: 'done', outputs: { version: outputsOf('publish').version, share: 0.1, state: 'promoted', reason: 'stand-in', canaryEvents: 0 } }),
      outcome: rolloutStep.outcome,
    },
  };

  async function runToEnd(): Promise<Awaited<ReturnType<typeof getPipelineRun>>> {
    const started = await startPipelineRun(hub.deps, engineer, { project: 'fash', trigger: 'manual', triggerDetail: 'test' });
    const deadline = Date.now() + 240_000;
    for (;;) {
      const run = await getPipelineRun(hub.deps, { runId: started.id, logLines: 50 });
      if (run.status !== 'running') return run;
      if (Date.now() > deadline) throw new Error(`still running: ${JSON.stringify(run.steps.map((s) => [s.step, s.status, s.error]))}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }

  it.skipIf(skip)('builds the dataset (holdout kept out, reviewed labels, hash splits, origins), trains on it and publishes the challenger; a rerun reuses it all', { timeout: 300_000 }, async () => {
    const pipeline = await startPipelineWorker(hub.deps, { name: 'pipeline', registry, triggers: false });
    const training = await startTrainingWorker(hub.deps, { name: 'trainer' });
    try {
      const run = await runToEnd();
      expect(run, JSON.stringify(run.steps.map((s) => [s.step, s.status, s.error, s.logs.map((l) => l.line)]))).toMatchObject({ status: 'succeeded', outcome: 'promoted', challengerVersion: 2 });

      // build-dataset: 60 accepted, the newest 15 held out, 45 added on the champion's dataset version.
      const dataset = run.dataset!;
      expect(dataset).toMatchObject({ baseVersionId: champion.datasetVersionId, added: 45, addedByRule: { agreement: 15, person: 30 } });
      const holdout = reviewed.slice(45);
      const stored = JSON.parse(new TextDecoder().decode((await hub.deps.store.get(dataset.holdout.key))!)) as { sha256: string; label: string }[];
      expect(stored).toEqual(holdout.map(({ sha256, label }) => ({ sha256, label })).sort((a, b) => (a.sha256 < b.sha256 ? -1 : 1)));
      expect(dataset.holdout).toMatchObject({ items: 15, sha256: sha256Hex(JSON.stringify(stored)) });

      const { manifest: base } = await loadManifest(hub.deps, 'fash', champion.datasetVersionId);
      const { version, manifest } = await loadManifest(hub.deps, 'fash', dataset.datasetVersionId);
      expect(version.parentId).toBe(champion.datasetVersionId);
      expect(version.message).toContain(`pipeline run ${run.id}`);
      const bySha = new Map<string, ManifestItem>(manifest.items.map((item) => [item.sha256, item]));
      for (const item of holdout) expect(bySha.has(item.sha256), 'holdout item in the training data').toBe(false);
      const relabelled = base.items.find((item) => item.sha256 === reviewed[0]!.sha256)!;
      expect(bySha.get(relabelled.sha256)).toEqual({ ...relabelled, label: 'Shirt', origin: { predictionId: null, acceptedBy: 'agreement' } });
      for (const item of reviewed.slice(1, 45)) {
        // The base has no val split (counts.val 0): an item that hashes to val joins train.
        const split = splitOfSha256(item.sha256) === 'val' ? 'train' : splitOfSha256(item.sha256);
        expect(bySha.get(item.sha256)).toEqual({ sha256: item.sha256, label: item.label, split, origin: { predictionId: null, acceptedBy: item.rule } });
      }
      expect(manifest.items).toHaveLength(base.items.length + 44);

      // train: the champion's configs on the new version, from scratch as the settings say.
      const challenger = await requireRun(hub.deps, run.training!.runId);
      const championRun = await requireRun(hub.deps, champion.runId);
      expect(challenger).toMatchObject({ status: 'succeeded', datasetVersionId: dataset.datasetVersionId, modelConfig: championRun.modelConfig, trainConfig: { ...championRun.trainConfig, initFromRun: null } });
      expect(run.training).toEqual({ runId: challenger.id, warmStart: false });
      expect(run.steps.find((s) => s.step === 'train')!.logs.map((l) => l.line).join('\n')).toContain(`training run ${challenger.id} succeeded`);

      // publish: version 2 of the model, from that run.
      expect(run.published).toMatchObject({ version: 2 });
      expect((await (await hub.as('engineer')).registry.versions({ project: 'fash', model: 'fash-cnn' })).versions.find((v) => v.version === 2)!.runId).toBe(challenger.id);

      // Nothing changed: the rerun reuses every step's outputs, and trains and publishes nothing new.
      const rerun = await runToEnd();
      expect(rerun.steps.map((s) => [s.status, s.reusedFromRunId])).toEqual(rerun.steps.map(() => ['skipped', run.id]));
      expect(rerun.training).toEqual(run.training);
      expect(rerun.published).toEqual(run.published);
    } finally {
      await training.stop();
      await pipeline.stop();
    }
  });

  it.skipIf(skip)("fine-tunes the champion when warm start is on: its weights, the settings' epochs and learning rate, reviewed items repeated", async () => {
    await setPipelineSettings(hub.deps, engineer, { project: 'fash', settings: { holdout: { share: 0.25, minItems: 10 }, training: { warmStart: true } } });
    const started = await startPipelineRun(hub.deps, engineer, { project: 'fash', trigger: 'manual', triggerDetail: 'warm' });
    try {
      const view = await runViewOf(hub.deps, started.id);
      const outputsOf = (() => ({ datasetVersionId: champion.datasetVersionId })) as StepContext['outputsOf'];
      // In the train step's inputs: turning warm start on or off makes a new training run, never a reused one.
      const inputs = (await trainStep.inputs({ deps: hub.deps, run: view, log: () => {}, outputsOf })) as { train: TrainConfig };
      const training = view.settings.training;
      expect(inputs.train).toMatchObject({ initFromRun: champion.runId, epochs: training.epochs, learningRate: training.learningRate, learningRateSchedule: 'constant', reviewedShare: training.reviewedShare, maxBaseItems: training.maxBaseItems, classPriors: null });
    } finally {
      await cancelPipelineRun(hub.deps, engineer, started.id);
    }
  });
});
