/** Messages between the page and the inference worker. Every request carries an id its reply repeats. */
import type { InferenceBackend, Preprocessing } from '@edgeloop/shared';

/** The inference backends a browser has, in the order they are preferred (a subset of what the hub records). */
export const BROWSER_BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const satisfies readonly InferenceBackend[];
export type InferenceBackendName = (typeof BROWSER_BACKENDS)[number];

export interface ModelPayload {
  modelJson: { modelTopology: object; weightsManifest: { paths: string[]; weights: unknown[] }[] };
  weights: ArrayBuffer;
  embeddingLayer: string;
  preprocessing: Preprocessing;
}

export type InferenceRequest =
  /** Start a backend before the model is there (the first of `backends` that works). */
  | { id: number; type: 'prepare'; backends: InferenceBackendName[] }
  /** Load (or reload) the model on the first backend of `backends` that works. */
  | { id: number; type: 'load'; model: ModelPayload; backends: InferenceBackendName[] }
  /** RGBA pixels at the model's input size (height * width * 4 bytes). */
  | { id: number; type: 'classify'; rgba: Uint8ClampedArray }
  /** Time the loaded model on each backend: loading with its first run, and the median of `runs` more. */
  | { id: number; type: 'measure'; backends: InferenceBackendName[]; runs: number };

export interface LoadResult {
  backend: InferenceBackendName;
  /** Backends tried first that failed, with why. */
  failed: { backend: InferenceBackendName; error: string }[];
  /** WebGPU adapter description when the backend is webgpu. */
  adapter: string | null;
  milliseconds: number;
}

export interface ClassifyResult {
  /** Softmax output, one value per label. */
  probabilities: number[];
  /** The embedding layer's output for this image. */
  embedding: number[];
  backend: InferenceBackendName;
  /** Preprocessing, inference and read-back of this one image. */
  latencyMs: number;
}

export interface BackendMeasurement {
  backend: InferenceBackendName;
  works: boolean;
  error?: string;
  /** Backend start, model upload and first inference (shader compilation, kernel setup). */
  firstMs?: number;
  medianMs?: number;
}

export type InferenceReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
