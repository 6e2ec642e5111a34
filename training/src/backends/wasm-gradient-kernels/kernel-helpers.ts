/**
 * What every kernel here shares: calling the wasm backend's own kernels from inside ours (no engine, no
 * tape, no tensor tracking), conv geometry, and the tfjs types the kernels are written in.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export type TensorInfo = tf.TensorInfo;
export type Conv2DInfo = tf.backend_util.Conv2DInfo;
export type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
export type RoundingMode = 'floor' | 'round' | 'ceil' | undefined;
export type KernelArgs = Parameters<tf.KernelFunc>[0];

export const BACKEND = 'wasm';

/** The kernel registered for wasm under `name` (ours where we replaced it); throws when the wasm backend was not imported. */
export function wasmKernelConfig(name: string): tf.KernelConfig {
  const config = tf.getKernel(name, BACKEND);
  if (config === undefined) throw new Error(`wasm kernel '${name}' not registered: import '@tensorflow/tfjs-backend-wasm' first`);
  return config;
}

/** Runs wasm kernel `name` directly: its output is a backend buffer the caller owns (dispose with backend.disposeData). */
export function run(name: string, backend: BackendWasm, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap): TensorInfo {
  return wasmKernelConfig(name).kernelFunc({ inputs, attrs, backend }) as TensorInfo;
}

export function transpose(backend: BackendWasm, x: TensorInfo, perm: number[]): TensorInfo {
  return run(tf.Transpose, backend, { x }, { perm });
}

/** The geometry of an NHWC conv (or depthwise conv) with these settings: sizes, strides, padding. */
export function convInfoOf(
  xShape: number[],
  filterShape: number[],
  strides: [number, number] | number,
  dilations: [number, number] | number,
  pad: Pad,
  dimRoundingMode: RoundingMode,
  depthwise: boolean,
): Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    dilations,
    pad,
    dimRoundingMode,
    depthwise,
    'channelsLast',
  );
}

export function assertNHWC(kernel: string, dataFormat: string | undefined): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC') {
    throw new Error(`${kernel} on wasm supports dataFormat 'NHWC' only, got '${dataFormat}'`);
  }
}
