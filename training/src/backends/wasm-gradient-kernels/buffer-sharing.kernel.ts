/**
 * Identity and same-dtype Cast: the output shares the input's buffer (reference counted, as wasm's
 * own Reshape does) instead of copying it. Nothing writes into a kernel's input, so this is safe.
 */
import type * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { TensorInfo } from './kernel-helpers';

function sharedBuffer(backend: BackendWasm, x: TensorInfo): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export function sharingIdentity(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs['x'] as TensorInfo;
    if (x.dtype === 'string') return original(args);
    return sharedBuffer(args.backend as BackendWasm, x);
  };
}

export function sharingSameDtypeCast(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs['x'] as TensorInfo;
    const { dtype } = args.attrs as unknown as { dtype: tf.DataType };
    if (dtype !== x.dtype || dtype === 'string') return original(args);
    return sharedBuffer(args.backend as BackendWasm, x);
  };
}
