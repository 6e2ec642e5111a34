/**
 * conv2d gradients. Conv2DBackpropFilter (missing on wasm) is the hot path of CNN training;
 * Conv2DBackpropInput (stride 1) replaces a slow wasm loop, further below.
 *
 * dW[i,j,c,o] = sum_{b,p,q} xPad[b, p*sh+i, q*sw+j, c] * dy[b,p,q,o]
 * Two ways to compute it, picked by the patch size kh*kw*ci:
 * - it is itself a valid conv (filterGradAsConv), which wasm's XNNPACK Conv2D runs ~2x faster than
 *   im2col + matmul or plain loops: 15 ms at batch 64 for the reference CNN's [13,13,32] -> 64 layer;
 * - for tiny patches (the first layer: 3x3 over 1 grey channel) that conv, with 9 output pixels and
 *   a huge dy-sized filter, is slow: 8.6 ms for [28,28,1] -> 32, where im2col + one matmul
 *   (filterGradAsMatMul) takes 5.8 ms. From patch size ~25 on the two measured the same.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BACKEND, type Conv2DInfo, type KernelArgs, type Pad, type RoundingMode, type TensorInfo, assertNHWC, convInfoOf, run, transpose } from './kernel-helpers';

/** The forward conv's settings, which both conv gradients receive. */
interface ConvBackpropAttrs {
  strides: [number, number] | number;
  pad: Pad;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: RoundingMode;
}

interface Conv2DBackpropFilterAttrs extends ConvBackpropAttrs {
  filterShape: [number, number, number, number];
}

/** Up to this many values per patch (kh*kw*ci), im2col + matmul beats the conv formulation. */
const MAX_IM2COL_PATCH = 16;

function conv2DBackpropFilter(args: KernelArgs): TensorInfo {
  const backend = args.backend as BackendWasm;
  const x = args.inputs['x'] as TensorInfo; // [b,H,W,ci]
  const dy = args.inputs['dy'] as TensorInfo; // [b,oh,ow,co]
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as unknown as Conv2DBackpropFilterAttrs;
  assertNHWC(tf.Conv2DBackpropFilter, dataFormat);
  const info = convInfoOf(x.shape, filterShape, strides, 1, pad, dimRoundingMode, false);
  const [kh, kw, ci] = filterShape;
  if (kh * kw * ci <= MAX_IM2COL_PATCH) return filterGradAsMatMul(backend, x, dy, info);
  return filterGradAsConv(backend, x, dy, info);
}

/**
 * The filter gradient as a valid conv: input xPad^T [ci,H',W',b] (batch -> channels), filter
 * dy^T [oh,ow,b,co], dilation = the forward strides; output [ci,kh,kw,co].
 */
function filterGradAsConv(backend: BackendWasm, x: TensorInfo, dy: TensorInfo, info: Conv2DInfo): TensorInfo {
  const { top, bottom, left, right } = info.padInfo;
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const temps: TensorInfo[] = [];
  const keep = (t: TensorInfo): TensorInfo => (temps.push(t), t);

  const xT = keep(transpose(backend, x, [3, 1, 2, 0])); // [ci,H,W,b]
  const dyT = keep(transpose(backend, dy, [1, 2, 0, 3])); // [oh,ow,b,co]: the "filter"
  const convAttrs = {
    strides: [1, 1],
    // Explicit padding of xT by the forward pass's padInfo ('same' would pick padding for the dy-sized filter).
    pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
    dataFormat: 'NHWC',
    dilations: [info.strideHeight, info.strideWidth],
  } as unknown as tf.NamedAttrMap;
  let dW = keep(run(tf.Conv2D, backend, { x: xT, filter: dyT }, convAttrs)); // [ci,kh',kw',co], kh' >= kh
  if (dW.shape[1] !== kh || dW.shape[2] !== kw) {
    // kh' > kh when (H' - kh) is not a multiple of the stride: the last rows hit no filter tap.
    dW = keep(run(tf.Slice, backend, { x: dW }, { begin: [0, 0, 0, 0], size: [ci, kh, kw, co] })); // [ci,kh,kw,co]
  }
  const out = transpose(backend, dW, [1, 2, 0, 3]); // [kh,kw,ci,co]
  for (const t of temps) backend.disposeData(t.dataId);
  return out;
}

/**
 * The filter gradient as one XNNPACK matmul: dW^T [co, kh*kw*ci] = dy^T [co, b*oh*ow] x patches [b*oh*ow, kh*kw*ci].
 * XNNPACK repacks the right operand (its "weights") on every call (it caches them by buffer, and
 * ours are new each step), ~3.6 ns per value: so the small patches go right and dy, transposed,
 * left (5.8 ms vs 8.4 ms the other way round, for [64,28,28,1] -> 32).
 */
function filterGradAsMatMul(backend: BackendWasm, x: TensorInfo, dy: TensorInfo, info: Conv2DInfo): TensorInfo {
  const { batchSize, outHeight, outWidth, filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const pixels = batchSize * outHeight * outWidth;
  const patchSize = kh * kw * ci;
  const temps: TensorInfo[] = [];
  const keep = (t: TensorInfo): TensorInfo => (temps.push(t), t);

  const patches = keep(backend.makeOutput([1, pixels, patchSize], 'float32')); // [1,b*oh*ow,kh*kw*ci]
  im2col(info, backend.typedArrayFromHeap(x) as Float32Array, backend.typedArrayFromHeap(patches) as Float32Array);
  const dy2 = keep(run(tf.Reshape, backend, { x: dy }, { shape: [pixels, co] })); // [b*oh*ow,co], shares dy's buffer
  const dyT = keep(transpose(backend, dy2, [1, 0])); // [co,b*oh*ow]
  const dyT3 = keep(run(tf.Reshape, backend, { x: dyT }, { shape: [1, co, pixels] })); // [1,co,b*oh*ow]
  const dWT = keep(run(tf.BatchMatMul, backend, { a: dyT3, b: patches }, { transposeA: false, transposeB: false })); // [1,co,kh*kw*ci]
  const dWT2 = keep(run(tf.Reshape, backend, { x: dWT }, { shape: [co, patchSize] })); // [co,kh*kw*ci]
  const dW = transpose(backend, dWT2, [1, 0]); // [kh*kw*ci,co]: row (i,j,c) is filter element [i,j,c,:]
  for (const t of temps) backend.disposeData(t.dataId);
  return { ...dW, shape: [kh, kw, ci, co] }; // same buffer, same order: a reshape (as wasm's own kernels do it)
}

/**
 * patches[(b*oh + p)*ow + q, (i*kw + j)*ci + c] = xPad[b, p*sh + i, q*sw + j, c]: one row per output
 * pixel, the filter's taps and input channels along it; taps in the padding read 0. For each filter
 * row i the kw*ci values are contiguous in x, so away from the padding they are copied as one run.
 */
function im2col(info: Conv2DInfo, xs: Float32Array, patches: Float32Array): void {
  const { batchSize, inHeight, inWidth, inChannels: ci, outHeight, outWidth, filterHeight, filterWidth } = info;
  const { strideHeight, strideWidth } = info;
  const { top, left } = info.padInfo;
  const runLength = filterWidth * ci; // values of one filter row in one patch
  let k = 0; // write position, sequential
  for (let b = 0; b < batchSize; b++) {
    for (let p = 0; p < outHeight; p++) {
      for (let q = 0; q < outWidth; q++) {
        const xc0 = q * strideWidth - left; // column of tap j = 0
        for (let i = 0; i < filterHeight; i++) {
          const xr = p * strideHeight - top + i;
          const rowStart = ((b * inHeight + xr) * inWidth + xc0) * ci; // flat index of x[b, xr, xc0, 0]
          if (xr < 0 || xr >= inHeight) {
            patches.fill(0, k, k + runLength);
            k += runLength;
          } else if (xc0 >= 0 && xc0 + filterWidth <= inWidth) {
            for (let u = 0; u < runLength; u++) patches[k++] = xs[rowStart + u]!;
          } else {
            for (let j = 0; j < filterWidth; j++) {
              const inside = xc0 + j >= 0 && xc0 + j < inWidth;
              for (let c = 0; c < ci; c++) patches[k++] = inside ? xs[rowStart + j * ci + c]! : 0;
            }
          }
        }
      }
    }
  }
}

export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: BACKEND,
  kernelFunc: conv2DBackpropFilter,
};

// ---------------------------------------------------------------------------------------------
// Conv2DBackpropInput (stride 1): dx[b,h,w,c] = sum_{i,j,o} dy[b, h+top-i, w+left-j, o] * W[i,j,c,o]
// is a stride-1 conv of dy, padded by (k-1-top) before and (k-1-bottom) after, with the filter
// flipped in space and its channels swapped. As an XNNPACK Conv2D that is ~10x faster than wasm's
// own loop. Strided convs would need zeros inserted into dy; they keep wasm's kernel.

interface Conv2DBackpropInputAttrs extends ConvBackpropAttrs {
  inputShape: [number, number, number, number];
}

export function fastConv2DBackpropInput(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const backend = args.backend as BackendWasm;
    const dy = args.inputs['dy'] as TensorInfo; // [b,oh,ow,co]
    const filter = args.inputs['filter'] as TensorInfo; // [kh,kw,ci,co]
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = args.attrs as unknown as Conv2DBackpropInputAttrs;
    if (dataFormat !== 'NHWC') return original(args);
    const info = convInfoOf(inputShape, filter.shape, strides, 1, pad, dimRoundingMode, false);
    const [kh, kw] = [info.filterHeight, info.filterWidth];
    const { top, bottom, left, right } = info.padInfo;
    const padding = [[0, 0], [kh - 1 - top, kh - 1 - bottom], [kw - 1 - left, kw - 1 - right], [0, 0]];
    const unsupported = info.strideHeight !== 1 || info.strideWidth !== 1 || padding.flat().some((p) => p < 0);
    if (unsupported) return original(args);

    const flipped = run(tf.Reverse, backend, { x: filter }, { dims: [0, 1] }); // [kh,kw,ci,co], flipped in space
    const flippedT = transpose(backend, flipped, [0, 1, 3, 2]); // [kh,kw,co,ci]
    const convAttrs = { strides: [1, 1], pad: padding, dataFormat: 'NHWC', dilations: [1, 1] } as unknown as tf.NamedAttrMap;
    const dx = run(tf.Conv2D, backend, { x: dy, filter: flippedT }, convAttrs); // [b,H,W,ci]
    backend.disposeData(flipped.dataId);
    backend.disposeData(flippedT.dataId);
    return dx;
  };
}
