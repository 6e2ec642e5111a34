/**
 * Starting the inference worker. The page starts one as its very first act (main.ts), before the app's own scripts
 * are evaluated, so TensorFlow.js downloads and compiles meanwhile; the first InferenceWorker takes that one.
 */
import plainWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import simdWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';

let early: Worker | null = null;

const createWorker = () => new Worker(new URL('./inference.worker.ts', import.meta.url), { type: 'module', name: 'edgeloop-inference' });

/** The smallest module with a SIMD instruction: the test tfjs-backend-wasm runs to pick its binary. */
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

/**
 * Starts the worker the app will classify with. On a first visit (no service worker serves the page yet) the wasm
 * binary it starts on is requested at once too: it downloads into the HTTP cache while the worker's script does,
 * instead of after it.
 */
export function startInferenceWorker(): void {
  early ??= createWorker();
  if (typeof WebAssembly === 'object' && !navigator.serviceWorker?.controller) {
    fetch(WebAssembly.validate(SIMD_PROBE) ? simdWasm : plainWasm, { credentials: 'same-origin' })
      .then((response) => response.arrayBuffer())
      .catch(() => {}); // the worker's own request reports what went wrong
  }
}

/** The worker started early, once; after that (or without one) a new worker. */
export function takeInferenceWorker(): Worker {
  const worker = early ?? createWorker();
  early = null;
  return worker;
}
