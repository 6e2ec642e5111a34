/**
 * The reference profile of a model version (computed once at publish on its val and test splits, immutable) and a
 * project's monitor settings: the contracts the profile builder, the stream monitor and the hub share.
 * `summary` is the JSON people read (a jsonb column, the admin); `arrays` holds what the monitor computes with
 * (one binary blob, see profile-arrays.ts).
 */
import { z } from 'zod';

/** The detectors that alarm (thresholds calibrated jointly by simulation); the rest of the snapshot explains. */
export const SEQUENTIAL_DETECTORS = ['classMix', 'confidence', 'embedding'] as const;
export type SequentialDetector = (typeof SEQUENTIAL_DETECTORS)[number];

/** A project's monitor settings, all with defaults; zod errors name the field. */
export const monitorSettingsSchema = z.object({
  /** A class-mix alert needs total variation of the window's predicted mix vs the reference >= this. */
  minTotalVariation: z.number().min(0).max(1).default(0.05),
  /** Accuracy points: confidence/embedding alerts need an estimated accuracy drop >= this. */
  minAccuracyDrop: z.number().min(0).max(100).default(1),
  /** Largest share of a detector window one device may hold; its further events are skipped by the detectors. */
  deviceCap: z.number().min(0.01).max(1).default(0.1),
  /** Share of predictions queued for review. */
  reviewRate: z.number().min(0).max(1).default(0.05),
  /** Share of reviews drawn uniformly at random (>= 10%, so every confidence level gets reviewed). */
  uniformShare: z.number().min(0.1).max(1).default(0.35),
});
export type MonitorSettings = z.infer<typeof monitorSettingsSchema>;

/**
 * How a profile is built; every field has a default. The window, cap and detector settings here are the ones the
 * thresholds are calibrated for, so the stream monitor reads them from the profile, not from the project.
 */
export const profileOptionsSchema = z.object({
  /** Admitted events in a detector window (class-mix GLR, MMD, device cap, explanation windows). */
  window: z.number().int().min(50).max(2000).default(300),
  /** Run length the false-alarm rate is set for: P(any alarm within `horizon` admitted events) <= falseAlarmRate. */
  horizon: z.number().int().min(50).max(5000).default(300),
  falseAlarmRate: z.number().min(0.001).max(0.5).default(0.05),
  /** Device cap applied in the null streams (the production default). */
  deviceCap: z.number().min(0.01).max(1).default(0.1),
  /** Null streams the thresholds are fitted on, and fresh ones the realized rate is measured on. */
  simulatedStreams: z.number().int().min(100).max(20000).default(2000),
  validationStreams: z.number().int().min(0).max(20000).default(1000),
  /** Binomial SEs of the simulated any-alarm rate the calibration aims below falseAlarmRate, so fresh streams stay under it. */
  calibrationMargin: z.number().min(0).max(3).default(1),
  /** PCA components kept for the embedding detector. */
  pcaRank: z.number().int().min(1).max(64).default(16),
  /** Projected test rows the MMD statistic compares with (R_kernel), and at most this many others for simulation (R_sim). */
  referenceSize: z.number().int().min(50).max(5000).default(1000),
  simulationSize: z.number().int().min(50).max(5000).default(2000),
  /** Null stream shape: devices per stream, mean session length (geometric), share of sessions from one k-means cluster. */
  devicesPerStream: z.number().int().min(1).max(1000).default(20),
  meanSessionLength: z.number().min(1).max(100).default(5),
  clusterSessionShare: z.number().min(0).max(1).default(0.5),
  clusters: z.number().int().min(1).max(100).default(20),
  /** tau = this quantile of the test split's calibrated confidence; the CUSUM watches the rate of confidences below tau. */
  lowConfidenceQuantile: z.number().min(0.01).max(0.5).default(0.2),
  /** The CUSUM is tuned to detect the low-confidence rate rising to this multiple of the reference rate. */
  cusumRateRatio: z.number().min(1.1).max(10).default(2),
  /** Smallest window the GLR looks at, and smallest window the MMD statistic is computed on. */
  glrMinWindow: z.number().int().min(5).max(500).default(20),
  mmdMinWindow: z.number().int().min(10).max(500).default(50),
  /** Admitted events behind the label-shift and accuracy estimates of a snapshot. */
  labelShiftEvents: z.number().int().min(50).max(10000).default(1000),
});
export type ProfileOptions = z.infer<typeof profileOptionsSchema>;

/** What the profile builder is given: the classifier head and embeddings of the val and test splits. */
export interface ProfileInput {
  /** K class names in the project's order (the head's output order). */
  labels: readonly string[];
  /** d, the length of an embedding. */
  embeddingSize: number;
  /** The classifier head, logits = e·kernel + bias: kernel [d, K] row-major (tfjs Dense layout), bias [K]. */
  head: { kernel: Float32Array; bias: Float32Array };
  /** Validation split: embeddings [n, d] row-major, labels [n]; the temperature and PCA are fitted here. */
  val: { embeddings: Float32Array; labels: Int32Array };
  /** Test split: embeddings [n, d], labels [n]; confusion, mixes, reference samples and thresholds come from here. */
  test: { embeddings: Float32Array; labels: Int32Array };
  /** Everything random derives from it: the same input gives the same profile, byte for byte. */
  seed: number;
  options?: Partial<ProfileOptions>;
}

const probabilityList = z.array(z.number().min(0).max(1));

/** The JSON people read: stored in reference_profiles.summary and shown on the model version. */
export const referenceProfileSummarySchema = z.object({
  labels: z.array(z.string()).min(2),
  counts: z.object({ val: z.number().int().min(0), test: z.number().int().min(0) }),
  embeddingSize: z.number().int().min(1),
  /** Test accuracy of the argmax prediction, in [0, 1]. */
  accuracy: z.number().min(0).max(1),
  /** CBPE on the test split: mean calibrated probability of the predicted class (what the monitor's estimate is compared with). */
  expectedAccuracy: z.number().min(0).max(1),
  /** Test counts [K][K]: row = true class, column = predicted class. */
  confusion: z.array(z.array(z.number().int().min(0))),
  /** Test label shares [K]. */
  labelPrior: probabilityList,
  /** Test predicted-class shares with 0.5 pseudo-counts [K]: the class-mix detector's reference. */
  predictedMix: probabilityList,
  /** Per class recall on test [K] (0 for a class absent from test). */
  recall: probabilityList,
  calibration: z.object({
    temperature: z.number().positive(),
    /** Mean NLL on val at T = 1 and at the fitted T. */
    valNll: z.object({ before: z.number(), after: z.number() }),
    /** Expected calibration error on test (15 bins), before and after temperature scaling. */
    ece: z.object({ before: z.number().min(0).max(1), after: z.number().min(0).max(1) }),
  }),
  /** 20 equal-width bins of the calibrated confidence on test: counts. */
  confidenceHistogram: z.array(z.number().int().min(0)),
  /** tau: events whose calibrated confidence is below it are low-confidence; referenceRate is their test share. */
  lowConfidence: z.object({ threshold: z.number().min(0).max(1), referenceRate: z.number().min(0).max(1) }),
  /** Mean of 1 - calibrated confidence on test. */
  meanUncertainty: z.number().min(0).max(1),
  pca: z.object({ rank: z.number().int().min(1), explainedVariance: z.array(z.number().min(0)), explainedVarianceRatio: z.number().min(0).max(1) }),
  mmd: z.object({
    sigma: z.number().positive(),
    referenceSize: z.number().int().min(2),
    simulationSize: z.number().int().min(2),
    minWindow: z.number().int().min(2),
    /** Nearest-reference distance above which an event counts as out of distribution (the 99th percentile on held-out test rows). */
    oodDistance: z.number().min(0),
    oodReferenceShare: z.number().min(0).max(1),
  }),
  thresholds: z.object({ classMix: z.number(), confidence: z.number(), embedding: z.number() }),
  falseAlarms: z.object({
    rate: z.number().min(0).max(1),
    horizon: z.number().int(),
    window: z.number().int(),
    streams: z.number().int(),
    /** Common per-detector level alpha' found by bisection (Bonferroni would be rate / 3). */
    perDetectorLevel: z.number().min(0).max(1),
    /** Share of the calibration streams with any alarm (<= rate). */
    calibrationRate: z.number().min(0).max(1),
    validationStreams: z.number().int(),
    /** Share of fresh streams with any alarm within the horizon, with its Wilson 95% interval. */
    realizedRate: z.number().min(0).max(1).nullable(),
    interval: z.tuple([z.number(), z.number()]).nullable(),
    /** Realized per-detector alarm shares on the fresh streams. */
    perDetector: z.object({ classMix: z.number(), confidence: z.number(), embedding: z.number() }).nullable(),
  }),
  cusum: z.object({ p0: z.number().min(0).max(1), p1: z.number().min(0).max(1) }),
  options: profileOptionsSchema,
  seed: z.number().int(),
});
export type ReferenceProfileSummary = z.infer<typeof referenceProfileSummarySchema>;

/**
 * The numbers the stream monitor computes with, stored as one blob (packProfileArrays). Float32 where the values are
 * model weights or samples, Float64 where rounding would move a threshold; the builder computes everything from
 * these very arrays, so a monitor restored from the blob reproduces the profile's statistics exactly.
 */
export interface ProfileArrays {
  /** Head kernel [d, K] row-major and bias [K]. */
  headKernel: Float32Array;
  headBias: Float32Array;
  /** PCA mean [d] and axes [r, d] row-major: x = axes·(e − mean). */
  pcaMean: Float32Array;
  pcaAxes: Float32Array;
  /** Projected reference sample R_kernel [m, r] row-major. */
  referenceSample: Float32Array;
  /** Calibrated confidences of the test split, ascending [n_test] (KS reference). */
  sortedConfidences: Float32Array;
  /** Reference class-mix pi0 [K] (predicted shares with pseudo-counts), test label prior [K]. */
  predictedMix: Float64Array;
  labelPrior: Float64Array;
  /** Joint test confusion [K, K] row-major, row = predicted, column = true, summing to 1 (BBSE). */
  jointConfusion: Float64Array;
  /** Null mean and sd of MMD² per window size s = mmdMinWindow .. min(window, horizon): [L] each. */
  mmdNullMean: Float64Array;
  mmdNullSd: Float64Array;
  /** Thresholds in SEQUENTIAL_DETECTORS order [3]. */
  thresholds: Float64Array;
  /** Named scalars, positions in PROFILE_SCALARS. */
  scalars: Float64Array;
}

/** Positions of ProfileArrays.scalars. */
export const PROFILE_SCALARS = [
  'temperature',
  'lowConfidenceThreshold',
  'cusumP0',
  'cusumP1',
  'mmdSigma',
  'meanReferenceKernel',
  'oodDistance',
  'referenceExpectedAccuracy',
] as const;
export type ProfileScalar = (typeof PROFILE_SCALARS)[number];

export function profileScalar(arrays: ProfileArrays, name: ProfileScalar): number {
  return arrays.scalars[PROFILE_SCALARS.indexOf(name)]!;
}

export interface ReferenceProfile {
  summary: ReferenceProfileSummary;
  arrays: ProfileArrays;
}
