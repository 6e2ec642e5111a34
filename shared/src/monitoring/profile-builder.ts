/**
 * buildReferenceProfile: the reference profile of a model version from its classifier head and the embeddings of its
 * val and test splits (design §1):
 * 1. logits z = e·kernel + bias; temperature T fitted on val (NLL); ECE before/after on test;
 * 2. test confusion, label prior, predicted mix (0.5 pseudo-counts), recall, calibrated confidences, tau (a quantile
 *    of them) and the low-confidence rate, CBPE on test;
 * 3. PCA fitted on val (so every test row stays out of sample), test rows projected and split by a seeded
 *    permutation into R_kernel (the MMD reference) and R_sim (only for simulation, so thresholds include the
 *    reference's own sampling error); bandwidth by the median heuristic on R_kernel;
 * 4. thresholds of the three detectors jointly by simulation on device-blocked null streams from R_sim.
 * Everything after the arrays are formed is computed from the arrays themselves (float32 values as stored).
 */
import { seededPermutation } from '../seeded-random';
import { argmaxRows, checkLabels, expectedCalibrationError, fitTemperature, softmaxWithTemperature } from './calibration';
import { expectedAccuracy } from './expected-accuracy';
import { jointConfusion } from './label-shift';
import { prepareMmdReference, sigmaMedianOf } from './mmd';
import { kMeansClusters } from './null-streams';
import { fitPca, projectRows } from './pca';
import { PROFILE_SCALARS, profileOptionsSchema, type ProfileArrays, type ProfileInput, type ProfileOptions, type ProfileScalar, type ReferenceProfile, type ReferenceProfileSummary } from './profile';
import { basisFrom, logitRows, mmdReferenceFrom, nearestReferenceSquaredDistance } from './profile-runtime';
import { referenceMixFromCounts } from './sequential';
import { calibrateJointThresholds, DetectorSimulator } from './threshold-calibration';

/** Fewest rows accepted per split: the temperature needs a few dozen, the reference and simulation pools 50 each. */
export const MIN_VAL_ROWS = 20;
export const MIN_TEST_ROWS = 100;
const CONFIDENCE_BINS = 20;
/** The OOD distance is this quantile of held-out rows' nearest-reference distance, so the reference share is 1%. */
const OOD_QUANTILE = 0.99;

/** A sub-seed for one random step, so adding a step never changes another's stream. */
function subSeed(seed: number, step: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(step + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  return (h ^ (h >>> 15)) >>> 0;
}

function parseOptions(options: Partial<ProfileOptions> | undefined): ProfileOptions {
  const parsed = profileOptionsSchema.safeParse(options ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`options.${issue.path.join('.')}: ${issue.message}`);
  }
  const o = parsed.data;
  if (o.glrMinWindow > o.window) throw new Error(`options.glrMinWindow = ${o.glrMinWindow} must be <= options.window = ${o.window}`);
  if (o.mmdMinWindow > Math.min(o.window, o.horizon)) throw new Error(`options.mmdMinWindow = ${o.mmdMinWindow} must be <= min(options.window, options.horizon) = ${Math.min(o.window, o.horizon)}`);
  return o;
}

function checkFinite(values: Float32Array, name: string): void {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) throw new Error(`${name}[${i}] = ${values[i]} is not finite`);
}

/** Validates shapes, label ranges and row counts; returns K, d and the row counts. Errors name the field. */
function checkInput(input: ProfileInput): { k: number; d: number; nVal: number; nTest: number } {
  const { labels, embeddingSize: d, head } = input;
  if (!Array.isArray(labels) || labels.length < 2) throw new Error(`labels must list at least 2 classes, got ${Array.isArray(labels) ? labels.length : typeof labels}`);
  if (new Set(labels).size !== labels.length) throw new Error('labels must be distinct');
  const k = labels.length;
  if (!Number.isInteger(d) || d < 1) throw new Error(`embeddingSize must be an integer >= 1, got ${d}`);
  if (!Number.isInteger(input.seed)) throw new Error(`seed must be an integer, got ${input.seed}`);
  if (!(head?.kernel instanceof Float32Array) || head.kernel.length !== d * k) throw new Error(`head.kernel must be a Float32Array of d·K = ${d * k} values ([d, K] row-major), got ${head?.kernel?.length}`);
  if (!(head.bias instanceof Float32Array) || head.bias.length !== k) throw new Error(`head.bias must be a Float32Array of K = ${k} values, got ${head.bias?.length}`);
  checkFinite(head.kernel, 'head.kernel');
  checkFinite(head.bias, 'head.bias');
  const rows = (split: 'val' | 'test', min: number): number => {
    const part = input[split];
    if (!(part?.embeddings instanceof Float32Array)) throw new Error(`${split}.embeddings must be a Float32Array`);
    if (!(part.labels instanceof Int32Array)) throw new Error(`${split}.labels must be an Int32Array`);
    if (part.embeddings.length % d !== 0) throw new Error(`${split}.embeddings has ${part.embeddings.length} values, not a multiple of embeddingSize = ${d}`);
    const n = part.embeddings.length / d;
    if (part.labels.length !== n) throw new Error(`${split}.labels has ${part.labels.length} entries but ${split}.embeddings has ${n} rows`);
    if (n < min) throw new Error(`${split} has ${n} rows, need at least ${min}`);
    checkFinite(part.embeddings, `${split}.embeddings`);
    checkLabels(part.labels, n, k, `${split}.labels`);
    return n;
  };
  return { k, d, nVal: rows('val', MIN_VAL_ROWS), nTest: rows('test', MIN_TEST_ROWS) };
}

/** Rows `order[from .. to)` of a row-major [n, dim] matrix, gathered. */
function gatherRows(matrix: Float32Array, dim: number, order: ArrayLike<number>, from: number, to: number): Float32Array {
  const out = new Float32Array((to - from) * dim);
  for (let i = from; i < to; i++) out.set(matrix.subarray(order[i]! * dim, (order[i]! + 1) * dim), (i - from) * dim);
  return out;
}

function scalars(values: Record<ProfileScalar, number>): Float64Array {
  return Float64Array.from(PROFILE_SCALARS, (name) => values[name]);
}

export function buildReferenceProfile(input: ProfileInput): ReferenceProfile {
  const options = parseOptions(input.options);
  const { k, d, nVal, nTest } = checkInput(input);
  const seed = input.seed >>> 0;
  const headKernel = Float32Array.from(input.head.kernel);
  const headBias = Float32Array.from(input.head.bias);

  // 1. Calibration.
  const valLogits = logitRows(input.val.embeddings, nVal, d, headKernel, headBias, k);
  const testLogits = logitRows(input.test.embeddings, nTest, d, headKernel, headBias, k);
  const fit = fitTemperature(valLogits, input.val.labels, k);
  const temperature = fit.temperature;
  const testLabels = input.test.labels;
  const calibrated = softmaxWithTemperature(testLogits, k, temperature);
  const eceBefore = expectedCalibrationError(softmaxWithTemperature(testLogits, k, 1), testLabels, k).ece;
  const eceAfter = expectedCalibrationError(calibrated, testLabels, k).ece;

  // 2. What the model does on test.
  const predicted = argmaxRows(testLogits, k, 'test logits');
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const labelCounts = new Array<number>(k).fill(0);
  const predictedCounts = new Array<number>(k).fill(0);
  let correct = 0;
  const confidences = new Float64Array(nTest);
  const histogram = new Array<number>(CONFIDENCE_BINS).fill(0);
  for (let i = 0; i < nTest; i++) {
    const [y, yHat] = [testLabels[i]!, predicted[i]!];
    confusion[y]![yHat]!++;
    labelCounts[y]!++;
    predictedCounts[yHat]!++;
    if (y === yHat) correct++;
    confidences[i] = calibrated[i * k + yHat]!;
    histogram[Math.min(CONFIDENCE_BINS - 1, Math.floor(confidences[i]! * CONFIDENCE_BINS))]!++;
  }
  const sortedConfidences = Float64Array.from(confidences).sort();
  const tau = sortedConfidences[Math.floor(options.lowConfidenceQuantile * nTest)]!;
  const lowConfidence = Uint8Array.from(confidences, (c) => (c < tau ? 1 : 0));
  const referenceRate = lowConfidence.reduce((s, x) => s + x, 0) / nTest;
  // The CUSUM needs 0 < p0 < p1 < 1 even when ties leave no (or every) test row below tau.
  const cusumP0 = Math.min(0.5, Math.max(1 / nTest, referenceRate));
  const cusumP1 = Math.min(0.95, options.cusumRateRatio * cusumP0);
  const referenceExpectedAccuracy = expectedAccuracy(calibrated, k, predicted).estimate;
  const labelPrior = Float64Array.from(labelCounts, (c) => c / nTest);
  const predictedMix = referenceMixFromCounts(predictedCounts, 0.5);

  // 3. PCA on val; test projections as float32, as a monitor computes them.
  const rank = Math.min(options.pcaRank, d);
  const pca = fitPca(Float64Array.from(input.val.embeddings), nVal, d, { components: rank });
  const pcaMean = Float32Array.from(pca.mean);
  const pcaAxes = Float32Array.from(pca.axes);
  const projected = Float32Array.from(projectRows(basisFrom(pcaMean, pcaAxes, d), Float64Array.from(input.test.embeddings), nTest));
  const order = seededPermutation(nTest, subSeed(seed, 1));
  const referenceSize = Math.min(options.referenceSize, Math.floor(nTest / 2));
  const simulationSize = Math.min(options.simulationSize, nTest - referenceSize);
  const referenceSample = gatherRows(projected, rank, order, 0, referenceSize);
  const simRows = Array.from(order.subarray(referenceSize, referenceSize + simulationSize));
  const simProjected = Float64Array.from(gatherRows(projected, rank, order, referenceSize, referenceSize + simulationSize));
  const sigma = sigmaMedianOf(Float64Array.from(referenceSample), rank);
  const meanReferenceKernel = prepareMmdReference(Float64Array.from(referenceSample), rank, { sigma }).meanReferenceKernel;
  const mmdReference = mmdReferenceFrom(referenceSample, rank, sigma, meanReferenceKernel);
  const nearest = Float64Array.from({ length: simulationSize }, (_, i) => nearestReferenceSquaredDistance(mmdReference, simProjected, i * rank)).sort();
  const oodDistance = Math.sqrt(nearest[Math.min(simulationSize - 1, Math.ceil(OOD_QUANTILE * simulationSize) - 1)]!);

  // 4. Thresholds.
  const simulator = new DetectorSimulator(
    {
      projected: simProjected,
      predicted: Int32Array.from(simRows, (row) => predicted[row]!),
      lowConfidence: Uint8Array.from(simRows, (row) => lowConfidence[row]!),
      clusters: kMeansClusters(simProjected, simulationSize, rank, options.clusters, subSeed(seed, 2)),
    },
    { pi0: predictedMix, window: options.window, glrMinWindow: options.glrMinWindow, cusumP0, cusumP1, mmdReference, mmdSigma: sigma, mmdMinWindow: options.mmdMinWindow },
    {
      horizon: options.horizon,
      window: options.window,
      deviceCap: options.deviceCap,
      devices: options.devicesPerStream,
      meanSessionLength: options.meanSessionLength,
      clusterSessionShare: options.clusterSessionShare,
    },
  );
  const calibration = calibrateJointThresholds(simulator, {
    streams: options.simulatedStreams,
    validationStreams: options.validationStreams,
    falseAlarmRate: options.falseAlarmRate,
    margin: options.calibrationMargin,
    seed: subSeed(seed, 3),
  });

  const arrays: ProfileArrays = {
    headKernel,
    headBias,
    pcaMean,
    pcaAxes,
    referenceSample,
    sortedConfidences: Float32Array.from(sortedConfidences),
    predictedMix,
    labelPrior,
    jointConfusion: jointConfusion(predicted, testLabels, k),
    mmdNullMean: calibration.mmdNullMean,
    mmdNullSd: calibration.mmdNullSd,
    thresholds: calibration.thresholds,
    scalars: scalars({ temperature, lowConfidenceThreshold: tau, cusumP0, cusumP1, mmdSigma: sigma, meanReferenceKernel, oodDistance, referenceExpectedAccuracy }),
  };
  const [classMix, confidence, embedding] = Array.from(calibration.thresholds);
  const validation = calibration.validation;
  const summary: ReferenceProfileSummary = {
    labels: [...input.labels],
    counts: { val: nVal, test: nTest },
    embeddingSize: d,
    accuracy: correct / nTest,
    expectedAccuracy: referenceExpectedAccuracy,
    confusion,
    labelPrior: Array.from(labelPrior),
    predictedMix: Array.from(predictedMix),
    recall: confusion.map((row, c) => (labelCounts[c]! > 0 ? row[c]! / labelCounts[c]! : 0)),
    calibration: { temperature, valNll: { before: fit.nllAtOne, after: fit.nll }, ece: { before: eceBefore, after: eceAfter } },
    confidenceHistogram: histogram,
    lowConfidence: { threshold: tau, referenceRate },
    meanUncertainty: confidences.reduce((s, c) => s + (1 - c), 0) / nTest,
    pca: { rank, explainedVariance: Array.from(pca.explainedVariance), explainedVarianceRatio: pca.explainedVarianceRatio.reduce((s, v) => s + v, 0) },
    mmd: { sigma, referenceSize, simulationSize, minWindow: options.mmdMinWindow, oodDistance, oodReferenceShare: 1 - OOD_QUANTILE },
    thresholds: { classMix: classMix!, confidence: confidence!, embedding: embedding! },
    falseAlarms: {
      rate: options.falseAlarmRate,
      horizon: options.horizon,
      window: options.window,
      streams: options.simulatedStreams,
      perDetectorLevel: calibration.perDetectorLevel,
      calibrationRate: calibration.calibrationRate,
      validationStreams: options.validationStreams,
      realizedRate: validation?.rate ?? null,
      interval: validation?.interval ?? null,
      perDetector: validation ? { classMix: validation.perDetector[0], confidence: validation.perDetector[1], embedding: validation.perDetector[2] } : null,
    },
    cusum: { p0: cusumP0, p1: cusumP1 },
    options,
    seed: input.seed,
  };
  return { summary, arrays };
}
