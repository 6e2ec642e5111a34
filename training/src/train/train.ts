/**
 * Trains a model in worker threads, never on the caller's event loop. Single-threaded backends (wasm, cpu) get one
 * data-parallel replica per core; backends that use the whole machine themselves (tensorflow, webgpu) get one.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Evaluation, ModelConfig, ModelFormat, TrainConfig, TrainingProgress } from '@edgeloop/shared';
import type { SelectedBackend } from '../backends/select-backend';
import type { ModelArtifacts } from '../export/model-artifacts';
import type { InitialWeights } from '../models/initial-weights';
import { CONTROL_SLOTS, STOP_REQUESTED } from './barrier';
import { exchangeBufferBytes } from './exchange-buffer';
import type { EpochMetrics, ReplicaInit, ReplicaMessage } from './messages';
import type { TrainingData } from './training-data';

export interface TrainOptions {
  model: ModelConfig;
  config: TrainConfig;
  data: TrainingData;
  onProgress?: (progress: TrainingProgress) => void;
  onEpoch?: (metrics: EpochMetrics) => void;
  onLog?: (line: string) => void;
  /** Aborting stops training at the next step; the result then says cancelled. */
  signal?: AbortSignal;
  /**
   * Warm start: float32 weights (e.g. another run's float32 artifacts) set after the model is built and before the
   * first step, instead of the seeded initialisation; shapes must match the model config's, or training fails saying
   * which weight does not fit.
   */
  initialWeights?: InitialWeights;
}

export interface TrainingResult {
  cancelled: boolean;
  backend: SelectedBackend;
  replicas: number;
  history: EpochMetrics[];
  seconds: number;
  /** Present unless cancelled: test-split evaluation and artifacts of each encoding. */
  evaluations: Partial<Record<ModelFormat, Evaluation>>;
  artifacts: Partial<Record<ModelFormat, ModelArtifacts>>;
}

const SINGLE_THREADED: ReadonlySet<string> = new Set(['wasm', 'cpu']);

export async function train(options: TrainOptions): Promise<TrainingResult> {
  const { config } = options;
  const started = performance.now();
  const cores = os.availableParallelism();
  // The backend is chosen inside the replicas; 'auto' may end up on wasm, so plan replicas from the preference
  // and fall back to one replica when the first replica reports a backend that uses the whole machine.
  const wanted = config.replicas || (config.backend === 'auto' || SINGLE_THREADED.has(config.backend) ? cores : 1);
  let result = await runReplicas(options, wanted);
  if (result === 'multi-threaded-backend') result = await runReplicas(options, 1);
  if (result === 'multi-threaded-backend') throw new Error('unreachable: one replica never restarts');
  return { ...result, seconds: (performance.now() - started) / 1000 };
}

async function runReplicas(options: TrainOptions, count: number): Promise<Omit<TrainingResult, 'seconds'> | 'multi-threaded-backend'> {
  const control = new SharedArrayBuffer(CONTROL_SLOTS * 4);
  const workers = Array.from({ length: count }, (_, index) => {
    const init: ReplicaInit = {
      index,
      count,
      model: options.model,
      config: options.config,
      backend: options.config.backend,
      data: options.data,
      control,
      ...(options.initialWeights ? { initialWeights: options.initialWeights } : {}),
    };
    return new Worker(new URL('./replica-entry.js', import.meta.url), { workerData: init });
  });
  const stop = () => Atomics.store(new Int32Array(control), STOP_REQUESTED, 1);
  options.signal?.addEventListener('abort', stop, { once: true });
  if (options.signal?.aborted) stop();

  const history: EpochMetrics[] = [];
  try {
    return await new Promise((resolve, reject) => {
      let ready = 0;
      let done = 0;
      let backend: SelectedBackend | undefined;
      let finalMessage: Extract<ReplicaMessage, { type: 'done' }> | undefined;
      workers.forEach((worker, index) => {
        worker.on('error', reject);
        worker.on('exit', (code) => {
          if (code !== 0) reject(new Error(`training replica ${index} exited with code ${code}`));
        });
        worker.on('message', (message: ReplicaMessage) => {
          switch (message.type) {
            case 'ready': {
              backend ??= message.backend;
              if (count > 1 && !message.backend.singleThreaded) return resolve('multi-threaded-backend');
              if (++ready < count) return;
              const buffer = new SharedArrayBuffer(exchangeBufferBytes(count, message.paramCount));
              for (const w of workers) w.postMessage({ type: 'exchange', buffer });
              options.onLog?.(`training on ${message.backend.name} (${message.backend.detail}) with ${count} replica(s), ${message.paramCount} parameters`);
              return;
            }
            case 'progress':
              return options.onProgress?.(message.progress);
            case 'epoch':
              history.push(message.metrics);
              return options.onEpoch?.(message.metrics);
            case 'log':
              return options.onLog?.(message.line);
            case 'done':
              if (index === 0) finalMessage = message;
              if (++done < count) return;
              resolve({
                cancelled: finalMessage!.cancelled,
                backend: backend!,
                replicas: count,
                history,
                evaluations: finalMessage!.evaluations ?? {},
                artifacts: finalMessage!.artifacts ?? {},
              });
          }
        });
      });
    });
  } finally {
    options.signal?.removeEventListener('abort', stop);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
