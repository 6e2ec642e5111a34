/**
 * For tests that run the same computation on the wasm backend (with the project's gradient kernels) and on the cpu
 * backend, the reference: switching backends, deterministic inputs, and comparing gradients.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { expect } from 'vitest';
import { registerWasmGradientKernels } from '../backends/wasm-gradient-kernels';

export type Backend = 'cpu' | 'wasm';

/** The backends tfjs runs in Node here without native packages; wasm with our gradient kernels, as training uses it. */
export const NODE_BACKENDS: readonly Backend[] = ['cpu', 'wasm'];

/** Makes `name` the current backend; wasm always with the project's gradient kernels. */
export async function useBackend(name: Backend): Promise<void> {
  if (name === 'wasm') registerWasmGradientKernels();
  expect(await tf.setBackend(name)).toBe(true);
  await tf.ready();
}

/** Deterministic values in [-1, 1), identical for both backends. */
function randomValues(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

export function randomTensor(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(randomValues(shape.reduce((a, b) => a * b, 1), seed), shape);
}

/** Gradients of sum(f(inputs) * r) w.r.t. every input, r a fixed random tensor, computed on `backend`. */
async function gradsOn(
  backend: Backend,
  shapes: number[][],
  f: (...xs: tf.Tensor[]) => tf.Tensor,
): Promise<Float32Array[]> {
  await useBackend(backend);
  return tf.tidy(() => {
    const inputs = shapes.map((shape, i) => randomTensor(shape, 11 + i));
    const outShape = f(...inputs).shape;
    const r = randomTensor(outShape, 97);
    const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), r)))(inputs);
    return grads.map((g) => g.dataSync() as Float32Array);
  });
}

/** Largest absolute difference, relative to the largest magnitude in `b` (at least 1). */
export function maxRelDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let scale = 1;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
  return diff / scale;
}

/** The gradients of `f` (inputs of `shapes`) on wasm match cpu's to 1e-5 relative; leaves wasm current. */
export async function expectSameGradients(shapes: number[][], f: (...xs: tf.Tensor[]) => tf.Tensor): Promise<void> {
  const wasm = await gradsOn('wasm', shapes, f);
  const cpu = await gradsOn('cpu', shapes, f);
  await useBackend('wasm');
  expect(wasm.length).toBe(cpu.length);
  for (let i = 0; i < cpu.length; i++) expect(maxRelDiff(wasm[i]!, cpu[i]!)).toBeLessThan(1e-5);
}
