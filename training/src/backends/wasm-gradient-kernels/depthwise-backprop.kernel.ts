/**
 * Depthwise backprops (both missing on wasm): plain loops (correctness over speed). Filter
 * [fh,fw,inC,m], output channel d*m+q comes from input channel d and multiplier q. Both loop over
 * every (output pixel, filter tap) pair and accumulate; taps that land in the padding are skipped.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BACKEND, type Conv2DInfo, type KernelArgs, type Pad, type RoundingMode, type TensorInfo, convInfoOf } from './kernel-helpers';

interface DepthwiseAttrs {
  strides: [number, number] | number;
  dilations: [number, number] | number;
  pad: Pad;
  dimRoundingMode?: RoundingMode;
}

/** Visits every (batch, output pixel, filter tap) whose input pixel lies inside x; offsets are flat indices / channel. */
function forEachTap(info: Conv2DInfo, visit: (xPixel: number, yPixel: number, tap: number) => void): void {
  const { batchSize, inHeight, inWidth, outHeight, outWidth, filterHeight, filterWidth } = info;
  const { strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const { top, left } = info.padInfo;
  for (let b = 0; b < batchSize; b++) {
    for (let yr = 0; yr < outHeight; yr++) {
      for (let yc = 0; yc < outWidth; yc++) {
        const yPixel = (b * outHeight + yr) * outWidth + yc;
        for (let fr = 0; fr < filterHeight; fr++) {
          const xr = yr * strideHeight - top + fr * dilationHeight;
          if (xr < 0 || xr >= inHeight) continue;
          for (let fc = 0; fc < filterWidth; fc++) {
            const xc = yc * strideWidth - left + fc * dilationWidth;
            if (xc < 0 || xc >= inWidth) continue;
            visit((b * inHeight + xr) * inWidth + xc, yPixel, fr * filterWidth + fc);
          }
        }
      }
    }
  }
}

/** What both backprops derive from the forward conv: its geometry, inC input channels, multiplier m, inC*m outputs. */
function depthwiseGeometry(xShape: number[], filterShape: number[], attrs: DepthwiseAttrs) {
  const info = convInfoOf(xShape, filterShape, attrs.strides, attrs.dilations, attrs.pad, attrs.dimRoundingMode, true);
  const inC = info.inChannels;
  const m = info.outChannels / inC;
  return { info, inC, m, outC: inC * m };
}

/** A float32 output of `shape` holding the accumulated sums. */
function outputOf(backend: BackendWasm, shape: number[], acc: Float64Array): TensorInfo {
  const out = backend.makeOutput(shape, 'float32');
  (backend.typedArrayFromHeap(out) as Float32Array).set(acc);
  return out;
}

function depthwiseBackpropFilter(args: KernelArgs): TensorInfo {
  const backend = args.backend as BackendWasm;
  const x = args.inputs['x'] as TensorInfo; // [b,H,W,inC]
  const dy = args.inputs['dy'] as TensorInfo; // [b,oh,ow,inC*m]
  const attrs = args.attrs as unknown as DepthwiseAttrs & { filterShape: [number, number, number, number] };
  const { info, inC, m, outC } = depthwiseGeometry(x.shape, attrs.filterShape, attrs);
  const xs = backend.typedArrayFromHeap(x) as Float32Array;
  const dys = backend.typedArrayFromHeap(dy) as Float32Array;
  // Accumulate in a JS array (float64 sums, and no heap view that a wasm allocation could detach).
  const acc = new Float64Array(info.filterHeight * info.filterWidth * inC * m); // [fh,fw,inC,m]
  forEachTap(info, (xPixel, yPixel, tap) => {
    const xBase = xPixel * inC;
    const yBase = yPixel * outC;
    const wBase = tap * outC; // filter [fh,fw,inC,m] flattened: tap*(inC*m) + d*m + q
    for (let k = 0; k < outC; k++) acc[wBase + k]! += xs[xBase + Math.floor(k / m)]! * dys[yBase + k]!;
  });
  return outputOf(backend, attrs.filterShape, acc); // [fh,fw,inC,m]
}

function depthwiseBackpropInput(args: KernelArgs): TensorInfo {
  const backend = args.backend as BackendWasm;
  const dy = args.inputs['dy'] as TensorInfo; // [b,oh,ow,inC*m]
  const filter = args.inputs['filter'] as TensorInfo; // [fh,fw,inC,m]
  const attrs = args.attrs as unknown as DepthwiseAttrs & { inputShape: [number, number, number, number] };
  const { info, inC, m, outC } = depthwiseGeometry(attrs.inputShape, filter.shape, attrs);
  const ws = backend.typedArrayFromHeap(filter) as Float32Array;
  const dys = backend.typedArrayFromHeap(dy) as Float32Array;
  const acc = new Float64Array(attrs.inputShape.reduce((a, b) => a * b, 1)); // [b,H,W,inC]
  forEachTap(info, (xPixel, yPixel, tap) => {
    const xBase = xPixel * inC;
    const yBase = yPixel * outC;
    const wBase = tap * outC;
    for (let k = 0; k < outC; k++) acc[xBase + Math.floor(k / m)]! += ws[wBase + k]! * dys[yBase + k]!;
  });
  return outputOf(backend, attrs.inputShape, acc); // [b,H,W,inC]
}

export const depthwiseBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  backendName: BACKEND,
  kernelFunc: depthwiseBackpropFilter,
};

export const depthwiseBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  backendName: BACKEND,
  kernelFunc: depthwiseBackpropInput,
};
