// Gradient kernels that @tensorflow/tfjs-backend-wasm 4.22 lacks, so CNNs can train on 'wasm'.
//
// Without them a training step throws `Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'`
// (and the same for the depthwise backprops). Everything else a training step of our layers needs
// (conv2d, depthwiseConv2d, maxPooling2d, batchNormalization, relu/relu6, dense, globalAveragePooling2d,
// dropout, softmax cross-entropy, Adam) is already registered on wasm; the tests check that.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

type TensorInfo = tf.TensorInfo;
type Conv2DInfo = tf.backend_util.Conv2DInfo;
type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
type RoundingMode = 'floor' | 'round' | 'ceil' | undefined;

const BACKEND = 'wasm';

/** Registers the missing gradient kernels for 'wasm'. Safe to call more than once. */
export function registerWasmGradientKernels(): void {
  for (const config of [conv2DBackpropFilterConfig, depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig]) {
    // getKernel (not try/catch around registerKernel): registering twice only warns, but we want silence.
    if (tf.getKernel(config.kernelName, BACKEND) === undefined) tf.registerKernel(config);
  }
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
// is itself a valid conv: input xPad^T [ci,H',W',b] (batch -> channels), filter dy^T [oh,ow,b,co],
// dilation = the forward strides. Running it through wasm's XNNPACK Conv2D is ~2x faster than the
// alternatives tried (im2col + matmul, plain loops).

interface Conv2DBackpropFilterAttrs {
  strides: [number, number] | number;
  pad: Pad;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: RoundingMode;
  filterShape: [number, number, number, number];
}

function conv2DBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: unknown }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const x = args.inputs['x'] as TensorInfo; // [b,H,W,ci]
  const dy = args.inputs['dy'] as TensorInfo; // [b,oh,ow,co]
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as Conv2DBackpropFilterAttrs;
  assertNHWC(tf.Conv2DBackpropFilter, dataFormat);
  const info = convInfoOf(x.shape, filterShape, strides, 1, pad, dimRoundingMode, false);
  const { top, bottom, left, right } = info.padInfo;
  const [kh, kw, ci, co] = filterShape;
  const temps: TensorInfo[] = [];
  const keep = (t: TensorInfo): TensorInfo => (temps.push(t), t);

  // [ci,H,W,b]; a transpose of a [b,H,W,1] tensor is a reshape, but Transpose is cheap either way.
  const xT = keep(transpose(backend, x, [3, 1, 2, 0])); // [ci,H,W,b]
  const dyT = keep(transpose(backend, dy, [1, 2, 0, 3])); // [oh,ow,b,co]: the "filter"
  const convAttrs = {
    strides: [1, 1],
    // Explicit padding of xT by the forward pass's padInfo ('same' would pick padding for the dy-sized filter).
    pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
    dataFormat: 'NHWC',
    dilations: [info.strideHeight, info.strideWidth],
  } as unknown as tf.NamedAttrMap;
  let dW = run(tf.Conv2D, backend, { x: xT, filter: dyT }, convAttrs); // [ci,kh',kw',co], kh' >= kh
  if (dW.shape[1] !== kh || dW.shape[2] !== kw) {
    // kh' > kh when (H' - kh) is not a multiple of the stride: the last rows hit no filter tap.
    keep(dW);
    dW = keep(run(tf.Slice, backend, { x: dW }, { begin: [0, 0, 0, 0], size: [ci, kh, kw, co] }));
  } else {
    keep(dW);
  }
  const out = transpose(backend, dW, [1, 2, 0, 3]); // [kh,kw,ci,co]
  for (const t of temps) backend.disposeData(t.dataId);
  return out;
}

const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: BACKEND,
  kernelFunc: conv2DBackpropFilter as unknown as tf.KernelFunc,
};

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

function depthwiseBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: unknown }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const x = args.inputs['x'] as TensorInfo; // [b,H,W,inC]
  const dy = args.inputs['dy'] as TensorInfo; // [b,oh,ow,inC*m]
  const attrs = args.attrs as DepthwiseAttrs & { filterShape: [number, number, number, number] };
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

function depthwiseBackpropInput(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: unknown }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const dy = args.inputs['dy'] as TensorInfo; // [b,oh,ow,inC*m]
  const filter = args.inputs['filter'] as TensorInfo; // [fh,fw,inC,m]
  const attrs = args.attrs as DepthwiseAttrs & { inputShape: [number, number, number, number] };
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
  kernelFunc: depthwiseBackpropFilter as unknown as tf.KernelFunc,
};

const depthwiseBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  backendName: BACKEND,
  kernelFunc: depthwiseBackpropInput as unknown as tf.KernelFunc,
};
