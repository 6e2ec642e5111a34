/**
 * The inference worker: TensorFlow.js off the page's main thread. It loads a verified model on the first backend
 * that works (webgpu, webgl, wasm, cpu, in the order asked), classifies RGBA pixels with the shared preprocessing,
 * and can time the model on each backend so the page keeps the fastest.
 */
// The wasm backend is every device's first one (it starts in milliseconds, and serves until the others are measured)
// and the fallback: it comes with this worker's own files, fetched in parallel with them, not one after another.
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import plainWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import simdWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import * as tf from '@tensorflow/tfjs-core';
import { type LoadedModel, classifyPixels, loadPublishedModel } from './inference-model';
import type {
  BackendMeasurement,
  ClassifyResult,
  InferenceBackendName,
  InferenceReply,
  InferenceRequest,
  LoadResult,
  ModelPayload,
} from './inference-protocol';

// TensorFlow.js and this worker's modules are evaluated: what a start costs before any backend (visible in traces).
performance.mark('edgeloop:worker-evaluated');

// Threads would need cross-origin isolation the hub does not ask for (and without this flag setBackend('wasm') can
// hang in a minified build), so only the single-threaded binaries are shipped.
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
setWasmPaths({
  'tfjs-backend-wasm.wasm': plainWasm,
  'tfjs-backend-wasm-simd.wasm': simdWasm,
  'tfjs-backend-wasm-threaded-simd.wasm': simdWasm, // never fetched with threads off; setWasmPaths wants every name
});

/** The other backends are imported when first used: a device that runs on wasm never downloads or parses the GPU ones. */
const BACKEND_MODULES: Record<InferenceBackendName, () => Promise<unknown>> = {
  webgpu: async () => {
    await import('@tensorflow/tfjs-backend-webgpu');
    // Keep small ops on the GPU instead of copying them back to the CPU.
    tf.env().set('WEBGPU_CPU_FORWARD', false);
  },
  webgl: () => import('@tensorflow/tfjs-backend-webgl'),
  cpu: () => import('@tensorflow/tfjs-backend-cpu'),
  wasm: async () => {}, // imported with the worker (above)
};

let loaded: LoadedModel | null = null;

/** setBackend resolves false (and getBackend still names it) when e.g. no WebGPU adapter exists: check both. */
async function useBackend(name: InferenceBackendName): Promise<void> {
  await BACKEND_MODULES[name]();
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`${name} is not available in this browser`);
  await tf.ready();
  if (tf.getBackend() !== name) throw new Error(`${name} did not initialise`);
}

async function load(payload: ModelPayload, backends: InferenceBackendName[]): Promise<LoadResult> {
  const started = performance.now();
  const failed: LoadResult['failed'] = [];
  const previous = loaded;
  for (const backend of backends) {
    try {
      await useBackend(backend);
      loaded = { payload, model: await loadPublishedModel(payload), backend };
      // Warm-up: compile shaders now, not on the first image, and prove the model runs before the old one goes.
      await classify(new Uint8ClampedArray(payload.preprocessing.height * payload.preprocessing.width * 4));
      previous?.model.dispose();
      return { backend, failed, adapter: await adapterInfo(backend), milliseconds: performance.now() - started };
    } catch (error) {
      if (loaded && loaded !== previous) loaded.model.dispose();
      loaded = previous;
      failed.push({ backend, error: (error as Error).message });
    }
  }
  // The model that ran before keeps running, on its own backend.
  if (previous) await tf.setBackend(previous.backend);
  throw new Error(`no backend could run the model: ${failed.map((f) => `${f.backend}: ${f.error}`).join('; ')}`);
}

async function adapterInfo(backend: InferenceBackendName): Promise<string | null> {
  if (backend !== 'webgpu') return null;
  const adapter = (tf.backend() as unknown as { adapterInfo?: { vendor?: string; architecture?: string; description?: string } }).adapterInfo;
  return adapter ? [adapter.vendor, adapter.architecture, adapter.description].filter(Boolean).join(' ') || 'webgpu adapter' : 'webgpu adapter';
}

/** Classifies with the loaded model. */
async function classify(rgba: Uint8ClampedArray): Promise<ClassifyResult> {
  if (!loaded) throw new Error('no model is loaded yet');
  return classifyPixels(loaded, rgba);
}

/** Times the loaded model on each backend, then reloads it on the backend it was on. */
async function measure(backends: InferenceBackendName[], runs: number): Promise<BackendMeasurement[]> {
  if (!loaded) throw new Error('no model is loaded yet');
  const { payload, backend: serving } = loaded;
  const rgba = new Uint8ClampedArray(payload.preprocessing.height * payload.preprocessing.width * 4).map((_, i) => (i * 37) % 256);
  const results: BackendMeasurement[] = [];
  for (const backend of backends) {
    try {
      const firstMs = (await load(payload, [backend])).milliseconds;
      const times: number[] = [];
      for (let i = 0; i < runs; i++) times.push((await classify(rgba)).latencyMs);
      times.sort((a, b) => a - b);
      results.push({ backend, works: true, firstMs, medianMs: times[Math.floor(times.length / 2)]! });
    } catch (error) {
      results.push({ backend, works: false, error: (error as Error).message });
    }
  }
  await load(payload, [serving]);
  return results;
}

/** Starts the first backend that works before the model arrives, so the two overlap. */
async function prepare(backends: InferenceBackendName[]): Promise<InferenceBackendName | null> {
  for (const backend of backends) {
    try {
      await useBackend(backend);
      return backend;
    } catch {
      // load() tries them again and reports why each failed.
    }
  }
  return null;
}

async function handle(request: InferenceRequest): Promise<unknown> {
  switch (request.type) {
    case 'prepare':
      return prepare(request.backends);
    case 'load':
      return load(request.model, request.backends);
    case 'classify':
      return classify(request.rgba);
    case 'measure':
      return measure(request.backends, request.runs);
  }
}

// One request at a time, in arrival order: a model switch happens between two classifications, never during one.
// Before the first: wasm starts at once, every device's first backend and the fallback of the others, so it is up
// by the time the page (still starting itself) asks for a backend; asked for another, the worker switches.
let queue: Promise<void> = useBackend('wasm').catch(() => {}); // prepare() and load() try it again and say why it failed
self.onmessage = (event: MessageEvent<InferenceRequest>) => {
  const request = event.data;
  queue = queue.then(async () => {
    let reply: InferenceReply;
    try {
      reply = { id: request.id, ok: true, result: await handle(request) };
    } catch (error) {
      reply = { id: request.id, ok: false, error: (error as Error).message };
    }
    self.postMessage(reply);
  });
};
