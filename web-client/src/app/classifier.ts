/**
 * The page's handle on an inference worker, and the choice of backend: the fastest one measured on this device
 * for this kind of model, remembered; until it is known, wasm (it starts in milliseconds) serves, and a second
 * worker measures every backend in the background once the device is idle after the first prediction.
 */
import {
  type BackendMeasurement,
  type ClassifyResult,
  BROWSER_BACKENDS,
  type InferenceBackendName,
  type InferenceReply,
  type InferenceRequest,
  type LoadResult,
  type ModelPayload,
} from './inference-protocol';
import { takeInferenceWorker } from './inference-worker-start';
import { readValue, writeValue } from './local-db';
import type { VerifiedModel } from './model-store';
import type { BackendPreference } from './settings';

type RequestBody = InferenceRequest extends infer R ? (R extends InferenceRequest ? Omit<R, 'id'> : never) : never;

export class InferenceWorker {
  private readonly worker = takeInferenceWorker();
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private nextId = 1;
  /** The latest load: asked again for the same model on the same backends, the worker has it already (or soon). */
  private latestLoad: { model: VerifiedModel; backends: string; result: Promise<LoadResult> } | null = null;

  constructor() {
    this.worker.onmessage = (event: MessageEvent<InferenceReply>) => {
      const reply = event.data;
      const waiting = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.ok) waiting?.resolve(reply.result);
      else waiting?.reject(new Error(reply.error));
    };
    this.worker.onerror = (event) => {
      for (const waiting of this.pending.values()) waiting.reject(new Error(`inference worker failed: ${event.message}`));
      this.pending.clear();
    };
  }

  private call<T>(request: RequestBody): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage({ ...request, id });
    });
  }

  prepare(backends: InferenceBackendName[]): Promise<InferenceBackendName | null> {
    return this.call({ type: 'prepare', backends });
  }

  load(model: VerifiedModel, backends: InferenceBackendName[]): Promise<LoadResult> {
    const key = backends.join();
    if (this.latestLoad?.model === model && this.latestLoad.backends === key) return this.latestLoad.result;
    const result = this.call<LoadResult>({ type: 'load', model: payloadOf(model), backends });
    const latest = { model, backends: key, result };
    this.latestLoad = latest;
    result.catch(() => {
      if (this.latestLoad === latest) this.latestLoad = null; // asked again, it tries again
    });
    return result;
  }

  classify(rgba: Uint8ClampedArray): Promise<ClassifyResult> {
    return this.call({ type: 'classify', rgba });
  }

  measure(backends: InferenceBackendName[], runs: number): Promise<BackendMeasurement[]> {
    this.latestLoad = null; // measuring loads the model on every backend
    return this.call({ type: 'measure', backends, runs });
  }

  terminate(): void {
    this.worker.terminate();
  }
}

let serving: InferenceWorker | null = null;

/** The worker the page classifies with: one per page, made by whichever asks first (the page's start or the app). */
export function servingWorker(): InferenceWorker {
  serving ??= new InferenceWorker();
  return serving;
}

function payloadOf(model: VerifiedModel): ModelPayload {
  return { modelJson: model.modelJson, weights: model.weights, embeddingLayer: model.manifest.embeddingLayer, preprocessing: model.manifest.preprocessing };
}

/** Measurements are kept per architecture and input size: a new version of the same network runs alike. */
function choiceKey(model: VerifiedModel): string {
  const p = model.manifest.preprocessing;
  return `backend-choice:${model.manifest.architecture}/${p.height}x${p.width}/${p.color}`;
}

export interface BackendChoice {
  backend: InferenceBackendName;
  measurements: BackendMeasurement[];
  measuredAt: string;
}

/** The choice for this model's kind, or (no model yet) the one made last on this device. */
export function readBackendChoice(model: VerifiedModel | null): Promise<BackendChoice | undefined> {
  return readValue<BackendChoice>(model ? choiceKey(model) : LAST_CHOICE);
}
const LAST_CHOICE = 'backend-choice:last';

/** Backends to try, best first: the preferred one, then the rest in webgpu, webgl, wasm, cpu order. */
export function backendOrder(preference: BackendPreference, choice: BackendChoice | undefined): InferenceBackendName[] {
  const first = preference !== 'auto' ? preference : (choice?.backend ?? 'wasm');
  return [first, ...BROWSER_BACKENDS.filter((b) => b !== first)];
}

/** The working backend with the lowest median latency; ties go to the earlier one in webgpu, webgl, wasm, cpu order. */
export function fastest(measurements: BackendMeasurement[]): InferenceBackendName | null {
  let best: BackendMeasurement | null = null;
  for (const m of measurements) if (m.works && (!best || m.medianMs! < best.medianMs!)) best = m;
  return best?.backend ?? null;
}

/** Measures every backend in a worker of its own (the serving worker keeps answering), and remembers the fastest. */
export async function measureBackends(model: VerifiedModel, runs = 15): Promise<BackendChoice | null> {
  const worker = new InferenceWorker();
  try {
    await worker.load(model, ['cpu']);
    const measurements = await worker.measure([...BROWSER_BACKENDS], runs);
    const backend = fastest(measurements);
    if (!backend) return null;
    const choice: BackendChoice = { backend, measurements, measuredAt: new Date().toISOString() };
    await Promise.all([writeValue(choiceKey(model), choice), writeValue(LAST_CHOICE, choice)]);
    return choice;
  } finally {
    worker.terminate();
  }
}
