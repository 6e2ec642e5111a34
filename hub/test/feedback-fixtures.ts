/** Feedback as tests send and store it: a device's prediction of the test project "pets", and an alert's explanation. */
import crypto from 'node:crypto';
import type { AlertExplanation, PredictionEvent } from '@edgeloop/shared';

/** A valid prediction of v1 of model "pets" (labels cat, dog, bird) with a new id each call. */
export function testPrediction(overrides: Partial<PredictionEvent> = {}): PredictionEvent {
  return {
    id: crypto.randomUUID(),
    model: 'pets',
    version: 1,
    backend: 'wasm',
    latencyMs: 2,
    top: [{ label: 'cat', probability: 0.8 }],
    embedding: [0.25, -1.5, 3],
    source: 'camera',
    createdAt: '2026-11-30T10:00:00.000Z',
    deviceId: 'device-0001',
    appVersion: '0.9.0',
    channel: 'production',
    ...overrides,
  };
}

/** A class-mix alert's explanation over a 100-event window. */
export const testAlertExplanation: AlertExplanation = {
  detector: 'classMix',
  effect: 'total variation 0.2 >= 0.1',
  moved: {
    classMix: { window: 100, observed: [0.7, 0.3], expected: [0.5, 0.5], chiSquare: null, jensenShannon: null, totalVariation: 0.2, classes: [] },
    confidence: { window: 100, lowConfidenceRate: null, referenceRate: 0.1, ks: null },
    labelShift: { events: 100, reference: [0.5, 0.5], em: null, bbse: null, weights: null, notPureLabelShift: false },
    accuracy: { reference: 0.9, referenceExpected: 0.9, expected: null, labelShiftCorrected: null, drop: null },
    embedding: { window: 100, mmd2: null, oodShare: null, oodReferenceShare: 0.01 },
  },
  contributors: { windowEvents: 100, historyEvents: 1000, devices: [], appVersions: [], backends: [] },
};
