/**
 * Picks the fastest tfjs backend this process can run, best first:
 * tensorflow (tfjs-node-gpu / tfjs-node, optional native packages) > webgpu (Dawn through the `webgpu` package,
 * hardware adapters only unless asked for by name) > wasm (with the gradient kernels it lacks) > cpu.
 */
import fs from 'node:fs';
import { BACKEND_PREFERENCES, type BackendPreference } from '@edgeloop/shared';
import * as tf from '@tensorflow/tfjs';
import { registerWasmGradientKernels } from './wasm-gradient-kernels';

export type BackendName = Exclude<BackendPreference, 'auto'>;

export interface SelectedBackend {
  name: BackendName;
  /** What actually runs it, for lineage: package, adapter, threads. */
  detail: string;
  /** Whether training should spread over CPU cores with data-parallel replicas (the backend itself runs one thread). */
  singleThreaded: boolean;
}

function hasGpuDevice(): boolean {
  try {
    return fs.readdirSync('/dev').some((name) => name.startsWith('nvidia')) || fs.readdirSync('/dev/dri').some((name) => name.startsWith('renderD'));
  } catch {
    return false;
  }
}

type Attempt = () => Promise<SelectedBackend | string>;

/** The selection in progress or last made: calls wait for it, so two never initialise backends at once. */
let selecting: Promise<unknown> = Promise.resolve();

/**
 * Tries each candidate; returns the first that works. The reasons others were skipped are returned for the log.
 * Calls run one after another: two at once (a hub's profile job and a replay client in one process) each switched the
 * engine while the other's backend was still initialising, and inference then failed ("Backend 'cpu' has not yet been
 * initialized") or ran on cpu.
 */
export function selectBackend(preference: BackendPreference = 'auto'): Promise<SelectedBackend & { skipped: string[] }> {
  const selection = selecting.then(() => choose(preference));
  selecting = selection.catch(() => undefined);
  return selection;
}

async function choose(preference: BackendPreference): Promise<SelectedBackend & { skipped: string[] }> {
  const order: BackendName[] = preference === 'auto' ? ['tensorflow', 'webgpu', 'wasm', 'cpu'] : [preference];
  const skipped: string[] = [];
  for (const name of order) {
    const result = await ATTEMPTS[name](preference === name);
    if (typeof result !== 'string') return { ...result, skipped };
    skipped.push(`${name}: ${result}`);
  }
  throw new Error(`backend ${preference} is not available here (${skipped.join('; ')}); valid values: ${BACKEND_PREFERENCES.join(', ')}`);
}

const ATTEMPTS: Record<BackendName, (explicit: boolean) => ReturnType<Attempt>> = {
  async tensorflow() {
    for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
      try {
        await import(/* @vite-ignore */ pkg);
        if (await tf.setBackend('tensorflow')) return { name: 'tensorflow', detail: pkg, singleThreaded: false };
      } catch {
        // Not installed, or installed without its native library (its install script is not allowed here).
      }
    }
    return 'neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed with its native library';
  },

  async webgpu(explicit) {
    // Loading Dawn on a machine without a GPU only prints driver warnings: look for a device node first.
    if (!explicit && !hasGpuDevice()) return 'no GPU device (/dev/dri/renderD*, /dev/nvidia*)';
    let gpu: GPU;
    try {
      const dawn = (await import(/* @vite-ignore */ 'webgpu')) as { create: (options: string[]) => GPU; globals: object };
      Object.assign(globalThis, dawn.globals);
      gpu = dawn.create([]);
    } catch (error) {
      return `the webgpu package (Dawn) does not load: ${(error as Error).message}`;
    }
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return 'no WebGPU adapter (no GPU driver Dawn can use)';
    const info = adapter.info;
    // A software adapter trains slower than wasm: use it only when asked for by name.
    if (info?.isFallbackAdapter && !explicit) return `only a software adapter (${info.description})`;
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) return 'the tfjs webgpu backend did not initialise';
    return { name: 'webgpu', detail: `Dawn ${info?.vendor ?? ''} ${info?.description ?? ''}`.trim(), singleThreaded: false };
  },

  async wasm() {
    await import('@tensorflow/tfjs-backend-wasm');
    registerWasmGradientKernels();
    if (!(await tf.setBackend('wasm'))) return 'the wasm backend did not initialise';
    return { name: 'wasm', detail: `wasm simd=${tf.env().getBool('WASM_HAS_SIMD_SUPPORT')}, 1 thread`, singleThreaded: true };
  },

  async cpu() {
    await tf.setBackend('cpu');
    return { name: 'cpu', detail: 'tfjs cpu (JavaScript)', singleThreaded: true };
  },
};
