import crypto from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { evaluateOutputsSchema, pixelsToModelInput } from '@edgeloop/shared';
import { FASHION_LABELS, FASHION_PREPROCESSING, loadFashionMnist } from '@edgeloop/training/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawSynthetic, predictionRows, storeProfile, syntheticProfile } from '../../test/synthetic-monitor';
import { DATABASES, type TestHub, createTestHub } from '../../test/test-hub';
import { publishTinyVersion, storeTinyRun } from '../../test/tiny-model-version';
import { encodeGreyscalePng } from '../images/png';
import * as feedbackStore from '../feedback/feedback.repository';
import { monitorState } from '../monitoring/monitor-query.service';
import { runMonitorUpdateJob } from '../monitoring/monitor.job';
import { getProject } from '../projects/project.service';
import * as models from '../registry/model-version.repository';
import { readPublishedModel } from '../registry/published-model';
import { publishRun } from '../registry/publish.service';
import { type ChampionChallengerInput, evaluateChampionChallenger } from './champion-challenger';

const COUNTS = { train: 300, val: 60, test: 200 };
const HOLDOUT_KEY = 'pipelines/test/holdout.json';

describe.each(DATABASES)('champion vs challenger on $kind', ({ kind, skip }) => {
  let hub: TestHub;
  let champion: Awaited<ReturnType<typeof publishTinyVersion>>;
  let challenger: Awaited<ReturnType<typeof storeTinyRun>>;
  let input: ChampionChallengerInput;
  const sample = loadFashionMnist(undefined, { valCount: COUNTS.val });
  /** The val items as the holdout: their PNGs are stored (the dataset version has them) and named by sha256. */
  const holdout = Array.from({ length: COUNTS.val }, (_, i) => ({
    sha256: crypto.createHash('sha256').update(encodeGreyscalePng(sample.val.pixels.subarray(i * 784, (i + 1) * 784), 28, 28)).digest('hex'),
    label: FASHION_LABELS[sample.val.labels[i]!]!,
  }));

  beforeAll(async () => {
    if (skip) return;
    hub = await createTestHub(kind);
    // A weak champion (one epoch) and a stronger challenger (six) on the same dataset version.
    champion = await publishTinyVersion(hub, { project: 'shop', model: 'tiny', counts: COUNTS, epochs: 1, seed: 5 });
    const project = await getProject(hub.deps, 'shop');
    challenger = await storeTinyRun(hub, { projectId: project.id, datasetVersionId: champion.datasetVersionId, counts: COUNTS, epochs: 6, seed: 6 });
    await hub.deps.store.put(HOLDOUT_KEY, new TextEncoder().encode(JSON.stringify(holdout)), { contentType: 'application/json' });
    input = { project: 'shop', championVersionId: champion.published.id, challengerRunId: challenger.runId, baseVersionId: champion.datasetVersionId, holdoutKey: HOLDOUT_KEY, channel: 'production' };
  }, 60_000);
  afterAll(() => hub?.close());

  it.skipIf(skip)('evaluates both models as devices would run them on the base test split, the holdout and the reweighted test split, without leaking tensors', async () => {
    const lines: string[] = [];
    const before = tf.memory().numTensors;
    const result = await evaluateChampionChallenger(hub.deps, input, (line) => lines.push(line));
    expect(tf.memory().numTensors).toBe(before);
    expect(evaluateOutputsSchema.parse(result)).toEqual(result);

    // The challenger's encoding is the one publishing it recommends.
    const championFormat = champion.published.recommended;
    const published = await publishRun(hub.deps, { tokenId: null, name: 'test', role: 'ci', projects: null }, { runId: challenger.runId, model: 'tiny' });
    const challengerFormat = published.recommended;
    expect(result.encoding).toBe(championFormat === challengerFormat ? championFormat : `${championFormat} (champion), ${challengerFormat} (challenger)`);
    expect(result.championBytes).toBe((await hub.deps.store.get(`runs/${champion.runId}/${championFormat}/weights.bin`))!.length);
    expect(result.challengerBytes).toBe((await hub.deps.store.get(`runs/${challenger.runId}/${challengerFormat}/weights.bin`))!.length);

    const [baseTest, holdoutSet, reweighted] = result.sets;
    // Base test: the same items training evaluated each encoding on, so the same accuracy and confusion it recorded.
    expect(baseTest).toMatchObject({ set: 'base-test', items: COUNTS.test });
    expect(baseTest!.champion.accuracy).toBeCloseTo(champion.evaluation[championFormat]!.accuracy, 9);
    expect(baseTest!.champion.confusion).toEqual(champion.evaluation[championFormat]!.confusion);
    expect(baseTest!.challenger.accuracy).toBeCloseTo(challenger.evaluation[challengerFormat]!.accuracy, 9);
    expect(baseTest!.challenger.confusion).toEqual(challenger.evaluation[challengerFormat]!.confusion);
    expect(baseTest!.challenger.perClassRecall).toEqual(challenger.evaluation[challengerFormat]!.perClass.map((c) => (c.support ? c.recall : null)));
    // The paired counts explain the accuracy difference exactly.
    for (const s of result.sets) expect(s.challenger.accuracy - s.champion.accuracy).toBeCloseTo((s.challengerOnly - s.championOnly) / s.items, 9);
    expect(baseTest!.challenger.accuracy).toBeGreaterThan(baseTest!.champion.accuracy); // six epochs beat one

    // Holdout: the stored PNGs, decoded by the hub, give what the champion predicts on the original pixels.
    expect(holdoutSet).toMatchObject({ set: 'holdout', items: COUNTS.val });
    const { model } = await readPublishedModel(hub.deps, (await models.findVersionById(hub.deps.db, champion.published.id))!.manifestKey);
    const predicted = tf.tidy(() => {
      const values = new Float32Array(COUNTS.val * 784);
      for (let i = 0; i < COUNTS.val; i++) pixelsToModelInput(sample.val.pixels.subarray(i * 784, (i + 1) * 784), 1, FASHION_PREPROCESSING, values.subarray(i * 784, (i + 1) * 784));
      return Array.from((model.predict(tf.tensor4d(values, [COUNTS.val, 28, 28, 1])) as tf.Tensor).argMax(-1).dataSync());
    });
    model.dispose();
    const correct = predicted.filter((p, i) => p === sample.val.labels[i]).length;
    expect(holdoutSet!.champion.accuracy).toBeCloseTo(correct / COUNTS.val, 9);

    // No monitor stream yet: the reweighted set uses the test split's own mix, so it is the base test again, and says so.
    const testShares = FASHION_LABELS.map((_, c) => Array.from(sample.test.labels.subarray(0, COUNTS.test)).filter((l) => l === c).length / COUNTS.test);
    expect(reweighted!.priors!.map((p) => p.toFixed(12))).toEqual(testShares.map((p) => p.toFixed(12)));
    expect(reweighted!.champion.accuracy).toBeCloseTo(baseTest!.champion.accuracy, 9);
    expect(reweighted!.challenger.perClassRecall).toEqual(baseTest!.challenger.perClassRecall);
    expect(lines.some((l) => /no label-shift estimate yet; using the test split's own class mix/.test(l))).toBe(true);
    expect(lines.some((l) => /^evaluated in \d+\.\d s$/.test(l))).toBe(true);
    expect(lines.some((l) => l.startsWith(`dataset ${champion.datasetVersionId.slice(0, 12)}: decoded ${COUNTS.test} test images in `))).toBe(true);
  });

  it.skipIf(skip)('reports an empty holdout as no items, with no recall for any class', async () => {
    await hub.deps.store.put('pipelines/test/empty.json', new TextEncoder().encode('[]'), { contentType: 'application/json' });
    const lines: string[] = [];
    const result = await evaluateChampionChallenger(hub.deps, { ...input, holdoutKey: 'pipelines/test/empty.json' }, (line) => lines.push(line));
    // The base test split was decoded by the first evaluation and kept: this one reads it from the local cache.
    expect(lines).toContain(`dataset ${champion.datasetVersionId.slice(0, 12)}: ${COUNTS.test} test images from the local cache`);
    expect(result.sets.find((s) => s.set === 'base-test')!.champion.accuracy).toBeCloseTo(champion.evaluation[champion.published.recommended]!.accuracy, 9);
    const holdoutSet = result.sets.find((s) => s.set === 'holdout')!;
    expect(holdoutSet).toMatchObject({ items: 0, championOnly: 0, challengerOnly: 0 });
    expect(holdoutSet.champion.perClassRecall.every((r) => r === null)).toBe(true);
  });

  it.skipIf(skip)('refuses a missing holdout list, a challenger of another project and an unknown champion, naming the field', async () => {
    await expect(evaluateChampionChallenger(hub.deps, { ...input, holdoutKey: 'pipelines/test/none.json' }, () => {})).rejects.toThrow(/^holdoutKey: no holdout list/);
    await hub.deps.store.put('pipelines/test/bad.json', new TextEncoder().encode('[{"sha256":"x","label":"T-shirt"}]'), { contentType: 'application/json' });
    await expect(evaluateChampionChallenger(hub.deps, { ...input, holdoutKey: 'pipelines/test/bad.json' }, () => {})).rejects.toThrow(/^holdoutKey: .* is not a list of \{sha256, label\}/);
    const other = await publishTinyVersion(hub, { project: 'other', model: 'tiny', counts: { train: 20, val: 10, test: 10 }, epochs: 1 });
    await expect(evaluateChampionChallenger(hub.deps, { ...input, challengerRunId: other.runId }, () => {})).rejects.toThrow(/^challengerRunId: run .* is not of project "shop"/);
    await expect(evaluateChampionChallenger(hub.deps, { ...input, championVersionId: crypto.randomUUID() }, () => {})).rejects.toThrow(/^championVersionId: no model version/);
  });

  it.skipIf(skip)("reweights the test split to the label-shift estimate of the champion's stream on the channel", async () => {
    // The champion's stream: a reference profile and 1,500 events whose class mix is far from the test split's
    // (synthetic embeddings of the project's ten classes; the monitor estimates the priors from them, by EM).
    const shape = { labels: FASHION_LABELS, dim: 8 };
    await storeProfile(hub.deps, champion.published.id, syntheticProfile(7, {}, shape));
    const shifted = [0.3, 0.02, 0.02, 0.02, 0.3, 0.02, 0.2, 0.04, 0.04, 0.04];
    const { id: projectId } = await getProject(hub.deps, 'shop');
    const rows = predictionRows(drawSynthetic(3, 1500, { priors: shifted, shape }), { projectId, modelVersionId: champion.published.id, sender: (i) => ({ deviceId: `install-${i % 40}` }), labels: FASHION_LABELS });
    await feedbackStore.insertPredictionRows(hub.deps.db, rows);
    await runMonitorUpdateJob(hub.deps, { projectId, modelVersionId: champion.published.id, channel: 'production' }, { now: new Date(Date.now() + 60_000) });
    const stream = (await monitorState(hub.deps, { project: 'shop' })).streams.find((s) => s.version === champion.published.version && s.channel === 'production')!;
    const em = stream.snapshot!.labelShift.em!;
    expect(em[0]! + em[4]! + em[6]!).toBeGreaterThan(0.6); // the estimate follows the shifted mix

    const lines: string[] = [];
    const result = await evaluateChampionChallenger(hub.deps, input, (line) => lines.push(line));
    const baseTest = result.sets.find((s) => s.set === 'base-test')!;
    const reweighted = result.sets.find((s) => s.set === 'reweighted-test')!;
    expect(reweighted.priors).toHaveLength(em.length);
    reweighted.priors!.forEach((q, c) => expect(q).toBeCloseTo(em[c]!, 12));
    expect(lines.some((l) => l.startsWith(`reweighted test: class priors from the label-shift (EM) estimate of tiny v1 on production (${stream.snapshot!.labelShift.events} events)`))).toBe(true);
    // Reweighted accuracy: each class's recall (unchanged) weighted by its estimated prior.
    for (const model of ['champion', 'challenger'] as const) {
      expect(reweighted[model].perClassRecall).toEqual(baseTest[model].perClassRecall);
      const present = em.reduce((sum, q, c) => sum + (baseTest[model].perClassRecall[c] === null ? 0 : q), 0);
      const expected = em.reduce((sum, q, c) => sum + q * (baseTest[model].perClassRecall[c] ?? 0), 0) / present;
      expect(reweighted[model].accuracy).toBeCloseTo(expected, 9);
    }
    // A stream on another channel is not this one: no estimate there.
    const other = await evaluateChampionChallenger(hub.deps, { ...input, channel: 'beta' }, () => {});
    expect(other.sets.find((s) => s.set === 'reweighted-test')!.champion.accuracy).toBeCloseTo(baseTest.champion.accuracy, 9);
  });
});

