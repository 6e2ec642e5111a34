/**
 * A trained model as bytes: topology, weight specs and weight data in the tfjs layers-model format, encoded
 * as float32, float16 or uint8 (the converter's quantization format, which tf.loadLayersModel dequantizes).
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelFormat } from '@edgeloop/shared';

export interface ModelArtifacts {
  modelTopology: object;
  weightSpecs: tf.io.WeightsManifestEntry[];
  /** All weights back to back, in weightSpecs order. */
  weightData: Uint8Array;
}

/** Largest weight shard a device downloads in one request. */
export const MAX_SHARD_BYTES = 4 * 1024 * 1024;

export async function captureArtifacts(model: tf.LayersModel): Promise<ModelArtifacts> {
  let captured: ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data = artifacts.weightData ? tf.io.CompositeArrayBuffer.join(artifacts.weightData) : new ArrayBuffer(0);
      captured = { modelTopology: artifacts.modelTopology as object, weightSpecs: artifacts.weightSpecs ?? [], weightData: new Uint8Array(data) };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return captured!;
}

/** Re-encodes float32 artifacts; float16 halves the bytes, uint8 quarters them (per-tensor affine min/scale). */
export function encodeArtifacts(float32: ModelArtifacts, format: ModelFormat): ModelArtifacts {
  if (format === 'float32') return float32;
  const specs: tf.io.WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const spec of float32.weightSpecs) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    if (spec.dtype !== 'float32') throw new Error(`weight ${spec.name} is ${spec.dtype}; only float32 weights can be re-encoded`);
    const values = new Float32Array(float32.weightData.buffer.slice(float32.weightData.byteOffset + offset, float32.weightData.byteOffset + offset + size * 4));
    offset += size * 4;
    if (format === 'float16') {
      parts.push(new Uint8Array(toFloat16(values).buffer));
      specs.push({ ...spec, quantization: quantization({ dtype: 'float16', original_dtype: 'float32' }) });
    } else {
      const { bytes, min, scale } = toUint8(values);
      parts.push(bytes);
      specs.push({ ...spec, quantization: quantization({ dtype: 'uint8', min, scale, original_dtype: 'float32' }) });
    }
  }
  return { modelTopology: float32.modelTopology, weightSpecs: specs, weightData: concat(parts) };
}

/** Loads artifacts the way a device would (the same dequantization), for evaluating an encoding. */
export function loadArtifacts(artifacts: ModelArtifacts): Promise<tf.LayersModel> {
  const weightData = artifacts.weightData.slice().buffer;
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: artifacts.modelTopology, weightSpecs: artifacts.weightSpecs, weightData }));
}

export function splitIntoShards(data: Uint8Array, maxBytes = MAX_SHARD_BYTES): Uint8Array[] {
  const shards: Uint8Array[] = [];
  for (let start = 0; start < data.length; start += maxBytes) shards.push(data.subarray(start, Math.min(data.length, start + maxBytes)));
  return shards.length ? shards : [new Uint8Array(0)];
}

/** The model.json tf.loadLayersModel reads; shard paths are relative to model.json. */
export function modelJsonFor(artifacts: ModelArtifacts, shardPaths: string[]) {
  return {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
    convertedBy: 'edgeloop',
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: shardPaths, weights: artifacts.weightSpecs }],
  };
}

/** tfjs's type omits original_dtype, which its converter writes and its loader accepts. */
function quantization(q: { dtype: 'float16' | 'uint8'; min?: number; scale?: number; original_dtype: 'float32' }) {
  return q as tf.io.WeightsManifestEntry['quantization'];
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Affine uint8: value = q * scale + min, with min nudged so that 0 is exactly representable
 * (zero biases and ReLU outputs stay exactly zero), as the tfjs converter does.
 */
function toUint8(values: Float32Array): { bytes: Uint8Array; min: number; scale: number } {
  let lo = 0;
  let hi = 0;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (hi === lo) hi = lo + 1;
  const scale = (hi - lo) / 255;
  const min = -Math.round(-lo / scale) * scale;
  const bytes = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) bytes[i] = Math.min(255, Math.max(0, Math.round((values[i]! - min) / scale)));
  return { bytes, min, scale };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 half precision bits, rounding to nearest. */
export function toFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    f32[0] = values[i]!;
    const x = u32[0]!;
    const sign = (x >>> 16) & 0x8000;
    const rawExp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    let exp = rawExp - 127 + 15;
    if (rawExp === 0xff) out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
    else if (exp >= 0x1f) out[i] = sign | 0x7c00;
    else if (exp <= 0) {
      if (exp < -10) out[i] = sign;
      else {
        mant = (mant | 0x800000) >> (1 - exp);
        out[i] = sign | ((mant + 0x1000) >> 13);
      }
    } else {
      mant += 0x1000;
      if (mant & 0x800000) {
        mant = 0;
        exp++;
      }
      out[i] = exp >= 0x1f ? sign | 0x7c00 : sign | (exp << 10) | (mant >> 13);
    }
  }
  return out;
}
