/**
 * Starting the inference worker. The page starts one as its very first act (main.ts), before the app's own scripts
 * are evaluated, so TensorFlow.js downloads and compiles meanwhile; the first InferenceWorker takes that one.
 */
let early: Worker | null = null;

const createWorker = () => new Worker(new URL('./inference.worker.ts', import.meta.url), { type: 'module', name: 'edgeloop-inference' });

/** Starts the worker the app will classify with. */
export function startInferenceWorker(): void {
  early ??= createWorker();
}

/** The worker started early, once; after that (or without one) a new worker. */
export function takeInferenceWorker(): Worker {
  const worker = early ?? createWorker();
  early = null;
  return worker;
}
