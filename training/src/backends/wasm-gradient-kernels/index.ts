/**
 * Gradient kernels that @tensorflow/tfjs-backend-wasm 4.22 lacks, so CNNs can train on 'wasm'.
 *
 * Without them a training step throws `Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'`
 * (and the same for the depthwise backprops). Everything else a training step of our layers needs
 * (conv2d, depthwiseConv2d, maxPooling2d, batchNormalization, relu/relu6, dense, globalAveragePooling2d,
 * dropout, softmax cross-entropy, Adam) is already registered on wasm; the tests check that.
 * Some registered kernels are replaced because they made training ~3x slower than it needs to be:
 * Conv2DBackpropInput (stride 1), MaxPoolGrad, BatchMatMul with transposed operands, Sum over leading
 * axes, and Identity / same-dtype Cast (which copied).
 *
 * One file per kernel family, their shared helpers in kernel-helpers.ts; this file only registers them.
 */
import * as tf from '@tensorflow/tfjs';
import { fastTransposedBatchMatMul } from './batch-mat-mul.kernel';
import { sharingIdentity, sharingSameDtypeCast } from './buffer-sharing.kernel';
import { conv2DBackpropFilterConfig, fastConv2DBackpropInput } from './conv2d-backprop.kernel';
import { depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig } from './depthwise-backprop.kernel';
import { BACKEND, wasmKernelConfig } from './kernel-helpers';
import { fastLeadingAxesSum } from './leading-axes-sum.kernel';
import { maxPoolGrad } from './max-pool-grad.kernel';

/** Registers the missing gradient kernels for 'wasm' and replaces slow ones. Safe to call more than once. */
export function registerWasmGradientKernels(): void {
  for (const config of [conv2DBackpropFilterConfig, depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig]) {
    // getKernel first: registering twice only warns, but we want silence.
    if (tf.getKernel(config.kernelName, BACKEND) === undefined) tf.registerKernel(config);
  }
  // wasm has these, but on the paths gradients take they are naive loops: together they took ~3/4
  // of a training step of the reference CNN.
  override(tf.Conv2DBackpropInput, fastConv2DBackpropInput);
  override(tf.MaxPoolGrad, () => maxPoolGrad);
  override(tf.BatchMatMul, fastTransposedBatchMatMul);
  // Bias gradients sum dy [b,h,w,c] over the leading axes; wasm transposes the whole dy first.
  override(tf.Sum, fastLeadingAxesSum);
  // wasm copies the buffer for these; layers call Identity (clone) and the relu gradient a
  // float32 -> float32 Cast on full activations. Sharing the buffer is what the cpu backend does.
  override(tf.Identity, sharingIdentity);
  override(tf.Cast, sharingSameDtypeCast);
}

/** Our replacement kernelFuncs, so a second call does not wrap a wrapper. */
const ours = new WeakSet<tf.KernelFunc>();

/** Replaces wasm's kernel `name`, keeping its setupFunc (the original kernelFunc, our fallback, needs it). */
function override(name: string, make: (original: tf.KernelFunc) => tf.KernelFunc): void {
  const original = wasmKernelConfig(name);
  if (ours.has(original.kernelFunc)) return;
  const kernelFunc = make(original.kernelFunc);
  ours.add(kernelFunc);
  tf.unregisterKernel(name, BACKEND);
  tf.registerKernel({ ...original, kernelFunc });
}
