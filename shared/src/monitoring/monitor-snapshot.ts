/**
 * What a stream monitor reports (stored as jsonb on the stream, sent to the admin and the CLI): the detectors'
 * statistics against their thresholds, and statistics that explain them on the current window. p-values here
 * explain; only the sequential statistics (with simulated thresholds) alarm.
 */
import { z } from 'zod';

const detectorStateSchema = z.object({
  /** Current statistic: GLR G_n, CUSUM S_t, or the MMD² z-score for the window's size. */
  value: z.number(),
  threshold: z.number(),
  /** The statistic is above its threshold now, or crossed it within the last `window` admitted events (the CUSUM resets after an alarm). */
  alarm: z.boolean(),
  /** Admitted-event index (1-based) of the latest crossing, or null. */
  lastAlarmAt: z.number().int().nullable(),
  alarms: z.number().int().min(0),
});

export const CLASS_CHANGES = ['rose', 'fell'] as const;

export const monitorSnapshotSchema = z.object({
  /** Events pushed, admitted by the device cap, and skipped by it (events = admitted + capped). */
  events: z.number().int().min(0),
  admitted: z.number().int().min(0),
  capped: z.number().int().min(0),
  detectors: z.object({ classMix: detectorStateSchema, confidence: detectorStateSchema, embedding: detectorStateSchema }),
  classMix: z.object({
    /** Admitted events in the window (the last `window`). */
    window: z.number().int().min(0),
    /** Shares [K] in the window and the reference mix pi0 [K]. */
    observed: z.array(z.number()),
    expected: z.array(z.number()),
    chiSquare: z.object({ statistic: z.number(), dof: z.number().int(), pValue: z.number() }).nullable(),
    jensenShannon: z.number().nullable(),
    totalVariation: z.number().nullable(),
    /** Per class: adjusted residual z and, where Benjamini-Hochberg at FDR 5% rejects, whether the class rose or fell. */
    classes: z.array(
      z.object({ label: z.string(), observed: z.number(), expected: z.number(), z: z.number(), change: z.enum(CLASS_CHANGES).nullable() }),
    ),
  }),
  confidence: z.object({
    window: z.number().int().min(0),
    lowConfidenceRate: z.number().nullable(),
    referenceRate: z.number(),
    /** Two-sample KS of the window's calibrated confidences vs the test split's. */
    ks: z.object({ statistic: z.number(), pValue: z.number() }).nullable(),
  }),
  labelShift: z.object({
    /** Admitted events behind the estimates (the last labelShiftEvents). */
    events: z.number().int().min(0),
    /** Source priors pi [K] (test label shares). */
    reference: z.array(z.number()),
    em: z.array(z.number()).nullable(),
    bbse: z.array(z.number()).nullable(),
    /** EM weights q/pi [K]. */
    weights: z.array(z.number()).nullable(),
    /** ||q_EM - q_BBSE||_1 > 0.1: the change is not only in the class priors. */
    notPureLabelShift: z.boolean(),
  }),
  accuracy: z.object({
    /** Test accuracy and the test split's CBPE. */
    reference: z.number(),
    referenceExpected: z.number(),
    /** CBPE on the last events, and corrected for EM's label shift; null before any event. */
    expected: z.number().nullable(),
    labelShiftCorrected: z.number().nullable(),
    /** 100 * (referenceExpected - labelShiftCorrected): accuracy points lost, estimated without labels. */
    drop: z.number().nullable(),
  }),
  embedding: z.object({
    window: z.number().int().min(0),
    /** Unbiased MMD² of the window's PCA projections vs the reference sample; null below the minimum window. */
    mmd2: z.number().nullable(),
    /** Share of window events farther from every reference point than the reference's own 99th percentile. */
    oodShare: z.number().nullable(),
    oodReferenceShare: z.number(),
  }),
});
export type MonitorSnapshot = z.infer<typeof monitorSnapshotSchema>;
export type DetectorSnapshot = z.infer<typeof detectorStateSchema>;
