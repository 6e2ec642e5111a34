/**
 * Champion vs challenger on the same sets, with the weight encoding devices run: the base version's test split, the
 * recent holdout of reviewed items, and the test split reweighted to the class priors estimated on the champion's
 * production stream. Per item, both models' predictions are paired, for McNemar's test in the gate.
 *
 * The champion is loaded exactly as devices load it (its signed manifest's recommended encoding, files checked
 * against their hashes); the challenger, not published yet, in the encoding publishing it would recommend. Images are
 * decoded once per preprocessing (once in all when both models take the same input) and run in batches.
 */
import * as tf from '@tensorflow/tfjs';
import {
  type EvaluateOutputs,
  type EvaluationSetResult,
  type Preprocessing,
  channelsOf,
  holdoutItemsSchema,
  pixelsToModelInput,
} from '@edgeloop/shared';
import { type ImageSet, loadArtifacts } from '@edgeloop/training';
import type { HubDeps } from '../deps';
import { badRequest, notFound } from '../errors';
import { getProject } from '../projects/project.service';
import * as models from '../registry/model-version.repository';
import { hubBackendReady, readPublishedModel } from '../registry/published-model';
import { recommendedForRun } from '../registry/publish.service';
import { loadLabelledImages, loadTestSplit } from '../training/dataset-loader';
import { preprocessingFor, requireRun } from '../training/run.service';
import { classCounts, pairedSetResult, priorWeights } from './paired-metrics';
import { streamPriors } from './stream-priors';

export interface ChampionChallengerInput {
  project: string;
  /** The published version devices run now, and the training run that made the challenger (not published yet). */
  championVersionId: string;
  challengerRunId: string;
  /** The dataset version whose test split is the base test set (the champion's training data). */
  baseVersionId: string;
  /** The holdout list in the object store (build-dataset's outputs.holdout.key). */
  holdoutKey: string;
  /** The channel whose champion stream's label-shift estimate gives the reweighting priors. */
  channel: string;
}

/** Images per forward pass: large enough to keep the backend busy, small enough to bound memory (512 x 28x28x1 float32 = 1.6 MB). */
const BATCH = 512;
/** A progress line at most this often while predicting. */
const PROGRESS_MS = 2_000;

interface Contender {
  name: 'champion' | 'challenger';
  model: tf.LayersModel;
  preprocessing: Preprocessing;
  encoding: string;
  /** Bytes of its weights in that encoding. */
  weightBytes: number;
}

export async function evaluateChampionChallenger(deps: HubDeps, input: ChampionChallengerInput, log: (line: string) => void): Promise<EvaluateOutputs> {
  const started = performance.now();
  const project = await getProject(deps, input.project);
  const version = await models.findVersionById(deps.db, input.championVersionId);
  if (!version) throw notFound(`championVersionId: no model version ${input.championVersionId}`);
  const championRun = await requireRun(deps, version.runId);
  if (championRun.projectId !== project.id) throw badRequest(`championVersionId: model version ${input.championVersionId} is not of project "${project.slug}"`);
  const challengerRun = await requireRun(deps, input.challengerRunId);
  if (challengerRun.projectId !== project.id) throw badRequest(`challengerRunId: run ${input.challengerRunId} is not of project "${project.slug}"`);
  const labels = project.labels;

  await hubBackendReady();
  const contenders: Contender[] = [];
  try {
    const published = await readPublishedModel(deps, version.manifestKey);
    const variant = published.manifest.variants.find((v) => v.format === published.manifest.recommended)!;
    contenders.push({
      name: 'champion',
      model: published.model,
      preprocessing: published.manifest.preprocessing,
      encoding: published.manifest.recommended,
      weightBytes: variant.shards.reduce((n, s) => n + s.bytes, 0),
    });
    const recommended = await recommendedForRun(deps, challengerRun);
    contenders.push({
      name: 'challenger',
      model: await loadArtifacts(recommended.artifacts),
      preprocessing: preprocessingFor(challengerRun.modelConfig),
      encoding: recommended.format,
      weightBytes: recommended.artifacts.weightData.length,
    });
    for (const c of contenders) {
      const outputs = (c.model.outputs[0]!.shape as number[])[1];
      if (outputs !== labels.length) throw badRequest(`the ${c.name} has ${outputs} outputs but project "${project.slug}" has ${labels.length} labels`);
    }
    const [champion, challenger] = contenders as [Contender, Contender];
    log(`champion v${published.manifest.version} (${champion.encoding}, ${champion.weightBytes} weight bytes) vs challenger run ${challengerRun.id.slice(0, 8)} (${challenger.encoding}, ${challenger.weightBytes} weight bytes)`);

    // Base test split: decoded once per distinct preprocessing, in the same (manifest) order for both models.
    const baseTest = await decodedPerPreprocessing(contenders, (p) => loadTestSplit(deps, { project: project.slug, versionId: input.baseVersionId, preprocessing: p }, log).then(checkLabels(labels)));
    const holdoutItems = await readHoldout(deps, input.holdoutKey);
    log(`holdout: ${holdoutItems.length} reviewed items`);
    const holdout = await decodedPerPreprocessing(contenders, (p) => loadLabelledImages(deps, holdoutItems, labels, p, log));

    const predictions = async (sets: Map<string, ImageSet>, setName: string) => {
      const out: Int32Array[] = [];
      for (const c of contenders) out.push(await predictClasses(c, sets.get(key(c.preprocessing))!, `${setName}, ${c.name}`, log));
      return out as [Int32Array, Int32Array];
    };
    const testSet = baseTest.get(key(champion.preprocessing))!;
    const truth = testSet.labels.subarray(0, testSet.count);
    const [championTest, challengerTest] = await predictions(baseTest, 'base test');
    const holdoutSet = holdout.get(key(champion.preprocessing))!;
    const [championHoldout, challengerHoldout] = await predictions(holdout, 'holdout');

    const classes = labels.length;
    const priors = await reweightingPriors(deps, { projectId: project.id, model: published.manifest.model, version: published.manifest.version, channel: input.channel, testCounts: classCounts(truth, classes) }, log);
    const sets: EvaluationSetResult[] = [
      pairedSetResult('base-test', { truth, champion: championTest, challenger: challengerTest, classes }),
      pairedSetResult('holdout', { truth: holdoutSet.labels.subarray(0, holdoutSet.count), champion: championHoldout, challenger: challengerHoldout, classes }),
      { ...pairedSetResult('reweighted-test', { truth, champion: championTest, challenger: challengerTest, classes }, priorWeights(priors, classCounts(truth, classes))), priors },
    ];
    for (const s of sets) {
      log(`${s.set}: ${s.items} items, champion ${percent(s.champion.accuracy)}, challenger ${percent(s.challenger.accuracy)} (${s.challengerOnly} only the challenger got right, ${s.championOnly} only the champion)`);
    }
    log(`evaluated in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return {
      encoding: champion.encoding === challenger.encoding ? champion.encoding : `${champion.encoding} (champion), ${challenger.encoding} (challenger)`,
      sets,
      championBytes: champion.weightBytes,
      challengerBytes: challenger.weightBytes,
    };
  } finally {
    for (const c of contenders) c.model.dispose();
  }
}

const key = (p: Preprocessing) => JSON.stringify([p.height, p.width, p.color, p.scale, p.offset]);
const percent = (x: number) => `${(x * 100).toFixed(2)}%`;

/** The images each distinct preprocessing of the contenders needs, decoded once per preprocessing. */
async function decodedPerPreprocessing(contenders: Contender[], load: (p: Preprocessing) => Promise<ImageSet>): Promise<Map<string, ImageSet>> {
  const sets = new Map<string, ImageSet>();
  for (const c of contenders) if (!sets.has(key(c.preprocessing))) sets.set(key(c.preprocessing), await load(c.preprocessing));
  return sets;
}

/** The test split, refused when the base version's labels are not the project's (class indices would not match the models' outputs). */
function checkLabels(labels: readonly string[]) {
  return (split: { labels: string[]; test: ImageSet }): ImageSet => {
    if (split.labels.join('\n') !== labels.join('\n')) throw badRequest(`baseVersionId: the dataset version's labels (${split.labels.join(', ')}) are not the project's (${labels.join(', ')})`);
    return split.test;
  };
}

async function readHoldout(deps: HubDeps, holdoutKey: string) {
  const bytes = await deps.store.get(holdoutKey);
  if (!bytes) throw notFound(`holdoutKey: no holdout list at ${holdoutKey} in the object store`);
  const parsed = holdoutItemsSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
  if (!parsed.success) throw badRequest(`holdoutKey: ${holdoutKey} is not a list of {sha256, label}`);
  return parsed.data;
}

/** Predicted class of every image of `set` [count], BATCH images per forward pass; each batch's tensors freed before the next. */
async function predictClasses(contender: Contender, set: ImageSet, what: string, log: (line: string) => void): Promise<Int32Array> {
  const p = contender.preprocessing;
  const channels = channelsOf(p.color);
  const pixelsPerImage = p.height * p.width * set.channels;
  const valuesPerImage = p.height * p.width * channels;
  const predicted = new Int32Array(set.count);
  const input = new Float32Array(Math.min(BATCH, Math.max(1, set.count)) * valuesPerImage);
  let lastLog = performance.now();
  for (let start = 0; start < set.count; start += BATCH) {
    const n = Math.min(BATCH, set.count - start);
    for (let i = 0; i < n; i++) {
      const at = (start + i) * pixelsPerImage;
      pixelsToModelInput(set.pixels.subarray(at, at + pixelsPerImage), set.channels, p, input.subarray(i * valuesPerImage, (i + 1) * valuesPerImage));
    }
    const classes = tf.tidy(() => {
      const x = tf.tensor4d(input.subarray(0, n * valuesPerImage), [n, p.height, p.width, channels]); // [n, h, w, c]
      return (contender.model.predict(x) as tf.Tensor2D).argMax(-1); // [n] int32
    });
    try {
      predicted.set((await classes.data()) as Int32Array, start);
    } finally {
      classes.dispose();
    }
    if (performance.now() - lastLog > PROGRESS_MS) {
      lastLog = performance.now();
      log(`predicting (${what}): ${start + n}/${set.count} images`);
    }
    await new Promise((resolve) => setImmediate(resolve)); // the event loop gets a turn between batches
  }
  return predicted;
}

/**
 * The class priors the test split is reweighted to: the EM label-shift estimate on the champion's stream of `channel`
 * (the monitor's latest snapshot), or, where the stream has none yet, the test split's own mix (weights 1), said in the log.
 */
async function reweightingPriors(
  deps: HubDeps,
  input: { projectId: string; model: string; version: number; channel: string; testCounts: number[] },
  log: (line: string) => void,
): Promise<number[]> {
  const estimate = await streamPriors(deps, input);
  if (estimate && estimate.priors.length === input.testCounts.length) {
    log(`reweighted test: class priors from the label-shift (EM) estimate of ${input.model} v${input.version} on ${input.channel} (${estimate.events} events): ${estimate.priors.map((q) => q.toFixed(3)).join(', ')}`);
    return estimate.priors;
  }
  const n = input.testCounts.reduce((a, b) => a + b, 0);
  log(`reweighted test: ${input.model} v${input.version} on ${input.channel} has no label-shift estimate yet; using the test split's own class mix (the same as the base test)`);
  return input.testCounts.map((c) => (n > 0 ? c / n : 0));
}
