// Gradient kernels that @tensorflow/tfjs-backend-wasm 4.22 lacks, so CNNs can train on 'wasm'.
//
// Without them a training step throws `Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'`
// (and the same for the depthwise backprops). Everything else a training step of our layers needs
// (conv2d, depthwiseConv2d, maxPooling2d, batchNormalization, relu/relu6, dense, globalAveragePooling2d,
// dropout, softmax cross-entropy, Adam) is already registered on wasm; the tests check that.
// Some registered kernels are replaced because they made training ~3x slower than it needs to be:
// Conv2DBackpropInput (stride 1), MaxPoolGrad, BatchMatMul with transposed operands, Sum over leading
// axes, and Identity / same-dtype Cast (which copied).
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

type TensorInfo = tf.TensorInfo;
type Conv2DInfo = tf.backend_util.Conv2DInfo;
type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
type RoundingMode = 'floor' | 'round' | 'ceil' | undefined;
type KernelArgs = Parameters<tf.KernelFunc>[0];

const BACKEND = 'wasm';

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
  const original = tf.getKernel(name, BACKEND);
  if (original === undefined) throw new Error(`wasm kernel '${name}' not registered: import '@tensorflow/tfjs-backend-wasm' first`);
  if (ours.has(original.kernelFunc)) return;
  const kernelFunc = make(original.kernelFunc);
  ours.add(kernelFunc);
  tf.unregisterKernel(name, BACKEND);
  tf.registerKernel({ ...original, kernelFunc });
}

// ---------------------------------------------------------------------------------------------
// Calling the wasm backend's own kernels from inside ours (no engine, no tape, no tensor tracking).

function wasmKernel(name: string): tf.KernelFunc {
  const config = tf.getKernel(name, BACKEND);
  if (config === undefined) throw new Error(`wasm kernel '${name}' not registered: import '@tensorflow/tfjs-backend-wasm' first`);
  return config.kernelFunc;
}

function run(name: string, backend: BackendWasm, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap): TensorInfo {
  return wasmKernel(name)({ inputs, attrs, backend }) as TensorInfo;
}

function transpose(backend: BackendWasm, x: TensorInfo, perm: number[]): TensorInfo {
  return run(tf.Transpose, backend, { x }, { perm });
}

function convInfoOf(
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

function assertNHWC(kernel: string, dataFormat: string | undefined): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC') {
    throw new Error(`${kernel} on wasm supports dataFormat 'NHWC' only, got '${dataFormat}'`);
  }
}

// ---------------------------------------------------------------------------------------------
// Conv2DBackpropFilter: the hot path of CNN training.
//
// dW[i,j,c,o] = sum_{b,p,q} xPad[b, p*sh+i, q*sw+j, c] * dy[b,p,q,o]
// Two ways to compute it, picked by the patch size kh*kw*ci:
// - it is itself a valid conv (filterGradAsConv), which wasm's XNNPACK Conv2D runs ~2x faster than
//   im2col + matmul or plain loops: 15 ms at batch 64 for the reference CNN's [13,13,32] -> 64 layer;
// - for tiny patches (the first layer: 3x3 over 1 grey channel) that conv, with 9 output pixels and
//   a huge dy-sized filter, is slow: 8.6 ms for [28,28,1] -> 32, where im2col + one matmul
//   (filterGradAsMatMul) takes 5.8 ms. From patch size ~25 on the two measured the same.

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

const conv2DBackpropFilterConfig: tf.KernelConfig = {
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

function fastConv2DBackpropInput(original: tf.KernelFunc): tf.KernelFunc {
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

// ---------------------------------------------------------------------------------------------
// BatchMatMul with transposeA/transposeB (what dense-layer gradients use): wasm's XNNPACK path only
// covers the untransposed case; transposed operands go through a loop ~12x slower than an explicit
// Transpose (0.1 ms) followed by the fast path.
// XNNPACK repacks the right operand (its "weights") on every call, so for a x b^T with a big b (the
// dense input gradient dy [64,128] x W^T, W [1600,128]) computing (b x a^T)^T, with the small a^T as
// weights, is faster (1.0 vs 1.7 ms) despite transposing the result.

function fastTransposedBatchMatMul(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const backend = args.backend as BackendWasm;
    const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    if (!transposeA && !transposeB) return original(args);
    const a = args.inputs['a'] as TensorInfo; // [...,m,k], or [...,k,m] if transposeA
    const b = args.inputs['b'] as TensorInfo; // [...,k,n], or [...,n,k] if transposeB
    const attrs = { ...args.attrs, transposeA: false, transposeB: false };
    const matMul = (left: TensorInfo, right: TensorInfo): TensorInfo =>
      original({ inputs: { a: left, b: right }, backend, attrs }) as TensorInfo;
    const swapLastTwo = (t: TensorInfo): TensorInfo => {
      const perm = t.shape.map((_, i) => i);
      perm.push(...perm.splice(-2).reverse());
      return transpose(backend, t, perm); // [...,n,m] for [...,m,n]
    };

    if (!transposeA && swappedIsCheaper(a.shape, b.shape)) {
      const aT = swapLastTwo(a); // [...,k,m]
      const outT = matMul(b, aT); // [...,n,m]
      const out = swapLastTwo(outT); // [...,m,n]
      backend.disposeData(aT.dataId);
      backend.disposeData(outT.dataId);
      return out;
    }
    const aT = transposeA ? swapLastTwo(a) : a; // [...,m,k]
    const bT = transposeB ? swapLastTwo(b) : b; // [...,k,n]
    const out = matMul(aT, bT); // [...,m,n]
    if (aT !== a) backend.disposeData(aT.dataId);
    if (bT !== b) backend.disposeData(bT.dataId);
    return out;
  };
}

/**
 * For a [...,m,k] x (b [...,n,k])^T: values transposed + packed as weights directly (b^T: 2nk)
 * against swapped (a^T, then the [m,n] result: 2mk + mn).
 */
function swappedIsCheaper(aShape: number[], bShape: number[]): boolean {
  const [m, k] = aShape.slice(-2) as [number, number];
  const n = bShape[bShape.length - 2]!;
  return 2 * m * k + m * n < 2 * n * k;
}

// ---------------------------------------------------------------------------------------------
// Sum over leading axes (conv and dense bias gradients: dy [b,h,w,c] summed over [0,1,2]): wasm sums
// innermost axes only, so it first transposes all of dy (3.5-5 ms for [64,26,26,32]). Viewed as
// [1,rows,1,cols], the sum is rows x one average pool over the whole height, which XNNPACK does in
// 0.3 ms (a JS loop took 2.3 ms, a matmul with a row of ones 5-7 ms: it repacks x as weights). It
// accumulates in float32 like wasm's own Sum; the scaling back by rows is float64 in JS.

interface SumAttrs {
  axis: number | number[] | null;
  keepDims: boolean;
}

function fastLeadingAxesSum(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const backend = args.backend as BackendWasm;
    const x = args.inputs['x'] as TensorInfo; // [...lead, ...rest]
    const { axis, keepDims } = args.attrs as unknown as SumAttrs;
    const axes = tf.util.parseAxisParam(axis ?? x.shape.map((_, i) => i), x.shape); // non-negative, any order
    // Reducing all axes wasm does without a transpose; empty tensors and other dtypes stay with wasm too.
    const leading = isLeadingPrefix(axes) && axes.length < x.shape.length;
    if (!leading || x.dtype !== 'float32' || tf.util.sizeFromShape(x.shape) === 0) return original(args);
    const rest = x.shape.slice(axes.length);
    const rows = tf.util.sizeFromShape(x.shape.slice(0, axes.length));
    const cols = tf.util.sizeFromShape(rest);
    const x4 = run(tf.Reshape, backend, { x }, { shape: [1, rows, 1, cols] }); // shares x's buffer
    const mean = run(tf.AvgPool, backend, { x: x4 }, { filterSize: [rows, 1], strides: 1, pad: 'valid' }); // [1,1,1,cols]
    const out = backend.makeOutput(keepDims ? [...axes.map(() => 1), ...rest] : rest, 'float32'); // [...rest] or [1,..,1,...rest]
    const means = backend.typedArrayFromHeap(mean) as Float32Array;
    const sums = backend.typedArrayFromHeap(out) as Float32Array;
    for (let j = 0; j < cols; j++) sums[j] = means[j]! * rows;
    backend.disposeData(x4.dataId);
    backend.disposeData(mean.dataId);
    return out;
  };
}

/** Whether the axes are exactly 0..k-1 for some k >= 1, in any order. */
function isLeadingPrefix(axes: number[]): boolean {
  const sorted = [...axes].sort((a, b) => a - b);
  return sorted.length > 0 && sorted.every((a, i) => a === i);
}

// ---------------------------------------------------------------------------------------------
// Identity and same-dtype Cast: the output shares the input's buffer (reference counted, as wasm's
// own Reshape does) instead of copying it. Nothing writes into a kernel's input, so this is safe.

function sharedBuffer(backend: BackendWasm, x: TensorInfo): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function sharingIdentity(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs['x'] as TensorInfo;
    if (x.dtype === 'string') return original(args);
    return sharedBuffer(args.backend as BackendWasm, x);
  };
}

function sharingSameDtypeCast(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs['x'] as TensorInfo;
    const { dtype } = args.attrs as unknown as { dtype: tf.DataType };
    if (dtype !== x.dtype || dtype === 'string') return original(args);
    return sharedBuffer(args.backend as BackendWasm, x);
  };
}

// ---------------------------------------------------------------------------------------------
// MaxPoolGrad: every window sends its dy to the first maximum of its input (row-major, as the cpu
// backend does: '>' against a running maximum that starts at -Infinity), one pass over the windows;
// wasm's kernel re-scans the windows per input pixel.

interface MaxPoolGradAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: Pad;
  dimRoundingMode?: RoundingMode;
}

type PoolInfo = tf.backend_util.Conv2DInfo;

function maxPoolGrad(args: KernelArgs): TensorInfo {
  const backend = args.backend as BackendWasm;
  const dy = args.inputs['dy'] as TensorInfo; // [b,oh,ow,c]
  const input = args.inputs['input'] as TensorInfo; // [b,H,W,c]
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as MaxPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const out = backend.makeOutput(input.shape, 'float32'); // [b,H,W,c]
  // Views after makeOutput: an allocation can grow the wasm heap and detach earlier views.
  const xs = backend.typedArrayFromHeap(input) as Float32Array;
  const dys = backend.typedArrayFromHeap(dy) as Float32Array;
  const dx = backend.typedArrayFromHeap(out) as Float32Array;
  if (isDisjoint2x2(info)) maxPoolGrad2x2(info, xs, dys, dx);
  else maxPoolGradAnyWindow(info, xs, dys, dx);
  return out;
}

/**
 * The common maxPooling2d({poolSize: 2}): 2x2 windows, stride 2, all inside the input ('valid', or
 * 'same' on an even size; 'same' on an odd size pads the last window), so each input pixel is in at
 * most one window.
 */
function isDisjoint2x2(info: PoolInfo): boolean {
  const { filterHeight, filterWidth, strideHeight, strideWidth, padInfo, inHeight, inWidth, outHeight, outWidth } = info;
  const window2x2 = filterHeight === 2 && filterWidth === 2 && strideHeight === 2 && strideWidth === 2;
  return window2x2 && padInfo.top === 0 && padInfo.left === 0 && 2 * outHeight <= inHeight && 2 * outWidth <= inWidth;
}

/**
 * 2x2/stride-2 windows: each input pixel lies in at most one window, so each (window, channel) stores
 * its dy once, at its first maximum, into a zero-filled dx: a straight loop over flat indices, as JS
 * runs it best (5.3 ms vs 8.1 ms for the general loop below on [64,26,26,32] relu output).
 */
function maxPoolGrad2x2(info: PoolInfo, xs: Float32Array, dys: Float32Array, dx: Float32Array): void {
  const { batchSize, inHeight, inWidth, outHeight, outWidth, inChannels: c } = info;
  const bits = new Int32Array(xs.buffer, xs.byteOffset, xs.length); // xs's float bits
  dx.fill(0);
  const rowStride = inWidth * c;
  let q = 0; // flat index into dy [b,oh,ow,c], visited in order
  for (let b = 0; b < batchSize; b++) {
    for (let yr = 0; yr < outHeight; yr++) {
      const rowStart = (b * inHeight + 2 * yr) * rowStride;
      for (let yc = 0; yc < outWidth; yc++) {
        const windowStart = rowStart + 2 * yc * c; // flat index of tap (0,0), channel 0
        for (let t00 = windowStart; t00 < windowStart + c; t00++, q++) {
          const at = firstMaxOf4(xs, bits, t00, t00 + c, t00 + rowStride, t00 + rowStride + c);
          if (at >= 0) dx[at] = dys[q]!;
        }
      }
    }
  }
}

/**
 * Which of the four taps (flat indices, row-major order) gets the gradient, as on cpu: a running
 * maximum from -Infinity compared with '>', so ties go to the first tap, NaN never wins, and -1 (no
 * gradient) when no tap beats -Infinity.
 * Pooling usually follows relu, so the taps are usually in [+0, +Inf], where the float order is the
 * order of the bit patterns as int32: comparing those is ~1.3x faster in V8. Anything else (a sign
 * bit, including -0, or NaN) takes the float comparisons.
 */
function firstMaxOf4(xs: Float32Array, bits: Int32Array, t0: number, t1: number, t2: number, t3: number): number {
  const b0 = bits[t0]!;
  const b1 = bits[t1]!;
  const b2 = bits[t2]!;
  const b3 = bits[t3]!;
  if ((b0 | b1 | b2 | b3) >= 0) {
    let max = b0;
    let at = t0;
    if (b1 > max) {
      max = b1;
      at = t1;
    }
    if (b2 > max) {
      max = b2;
      at = t2;
    }
    if (b3 > max) {
      max = b3;
      at = t3;
    }
    if (max <= POSITIVE_INFINITY_BITS) return at; // else a NaN is among them
  }
  let max = -Infinity;
  let at = -1;
  if (xs[t0]! > max) {
    max = xs[t0]!;
    at = t0;
  }
  if (xs[t1]! > max) {
    max = xs[t1]!;
    at = t1;
  }
  if (xs[t2]! > max) {
    max = xs[t2]!;
    at = t2;
  }
  if (xs[t3]! > max) at = t3;
  return at;
}

/** The int32 bit pattern of +Infinity; positive NaNs are above it. */
const POSITIVE_INFINITY_BITS = 0x7f800000;

/** Any window size, stride and padding: windows may overlap, so dx accumulates. */
function maxPoolGradAnyWindow(info: PoolInfo, xs: Float32Array, dys: Float32Array, dx: Float32Array): void {
  const { batchSize, inHeight, inWidth, outHeight, outWidth, inChannels: c, filterHeight, filterWidth } = info;
  const { strideHeight, strideWidth } = info;
  const { top, left } = info.padInfo;
  dx.fill(0);
  const best = new Float32Array(c); // per channel, of the current window
  const bestAt = new Int32Array(c);
  for (let b = 0; b < batchSize; b++) {
    for (let yr = 0; yr < outHeight; yr++) {
      const r0 = yr * strideHeight - top;
      for (let yc = 0; yc < outWidth; yc++) {
        const c0 = yc * strideWidth - left;
        best.fill(-Infinity);
        bestAt.fill(-1);
        // Taps in row-major order, channels innermost (contiguous); '>' keeps the first maximum.
        for (let r = Math.max(r0, 0); r < Math.min(r0 + filterHeight, inHeight); r++) {
          for (let col = Math.max(c0, 0); col < Math.min(c0 + filterWidth, inWidth); col++) {
            const base = ((b * inHeight + r) * inWidth + col) * c;
            for (let d = 0; d < c; d++) {
              const v = xs[base + d]!;
              if (v > best[d]!) {
                best[d] = v;
                bestAt[d] = base + d;
              }
            }
          }
        }
        const yBase = ((b * outHeight + yr) * outWidth + yc) * c;
        for (let d = 0; d < c; d++) if (bestAt[d]! >= 0) dx[bestAt[d]!]! += dys[yBase + d]!;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Depthwise backprops: plain loops (correctness over speed). Filter [fh,fw,inC,m], output channel
// d*m+q comes from input channel d and multiplier q. Both loop over every (output pixel, filter
// tap) pair and accumulate; taps that land in the padding are skipped.

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

function depthwiseBackpropFilter(args: KernelArgs): TensorInfo {
  const backend = args.backend as BackendWasm;
  const x = args.inputs['x'] as TensorInfo; // [b,H,W,inC]
  const dy = args.inputs['dy'] as TensorInfo; // [b,oh,ow,inC*m]
  const attrs = args.attrs as unknown as DepthwiseAttrs & { filterShape: [number, number, number, number] };
  const info = convInfoOf(x.shape, attrs.filterShape, attrs.strides, attrs.dilations, attrs.pad, attrs.dimRoundingMode, true);
  const inC = info.inChannels;
  const m = info.outChannels / inC;
  const xs = backend.typedArrayFromHeap(x) as Float32Array;
  const dys = backend.typedArrayFromHeap(dy) as Float32Array;
  // Accumulate in a JS array (float64 sums, and no heap view that a wasm allocation could detach).
  const acc = new Float64Array(info.filterHeight * info.filterWidth * inC * m); // [fh,fw,inC,m]
  const outC = inC * m;
  forEachTap(info, (xPixel, yPixel, tap) => {
    const xBase = xPixel * inC;
    const yBase = yPixel * outC;
    const wBase = tap * outC; // filter [fh,fw,inC,m] flattened: tap*(inC*m) + d*m + q
    for (let k = 0; k < outC; k++) acc[wBase + k]! += xs[xBase + Math.floor(k / m)]! * dys[yBase + k]!;
  });
  const out = backend.makeOutput(attrs.filterShape, 'float32'); // [fh,fw,inC,m]
  (backend.typedArrayFromHeap(out) as Float32Array).set(acc);
  return out;
}

function depthwiseBackpropInput(args: KernelArgs): TensorInfo {
  const backend = args.backend as BackendWasm;
  const dy = args.inputs['dy'] as TensorInfo; // [b,oh,ow,inC*m]
  const filter = args.inputs['filter'] as TensorInfo; // [fh,fw,inC,m]
  const attrs = args.attrs as unknown as DepthwiseAttrs & { inputShape: [number, number, number, number] };
  const info = convInfoOf(attrs.inputShape, filter.shape, attrs.strides, attrs.dilations, attrs.pad, attrs.dimRoundingMode, true);
  const inC = info.inChannels;
  const m = info.outChannels / inC;
  const ws = backend.typedArrayFromHeap(filter) as Float32Array;
  const dys = backend.typedArrayFromHeap(dy) as Float32Array;
  const acc = new Float64Array(attrs.inputShape.reduce((a, b) => a * b, 1)); // [b,H,W,inC]
  const outC = inC * m;
  forEachTap(info, (xPixel, yPixel, tap) => {
    const xBase = xPixel * inC;
    const yBase = yPixel * outC;
    const wBase = tap * outC;
    for (let k = 0; k < outC; k++) acc[xBase + Math.floor(k / m)]! += ws[wBase + k]! * dys[yBase + k]!;
  });
  const out = backend.makeOutput(attrs.inputShape, 'float32'); // [b,H,W,inC]
  (backend.typedArrayFromHeap(out) as Float32Array).set(acc);
  return out;
}

const depthwiseBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  backendName: BACKEND,
  kernelFunc: depthwiseBackpropFilter,
};

const depthwiseBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  backendName: BACKEND,
  kernelFunc: depthwiseBackpropInput,
};
