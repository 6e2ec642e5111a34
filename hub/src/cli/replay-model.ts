/**
 * `edgeloop replay`'s model: a channel's published model loaded as a device loads it. The hub's trusted keys come
 * from the hub (registry.publicKeys), the signed pointer, manifest and files from its CDN; every check is the shared
 * one the PWA runs (shared/src/model-verification.ts). Then the layers model is built with the embedding layer's
 * output as a second output, as the PWA's inference worker does.
 */
import * as tf from '@tensorflow/tfjs';
import {
  type ChannelPointer,
  type ChannelRef,
  type InferenceBackend,
  type ModelManifest,
  type PublishedFile,
  type TopClasses,
  ModelRefused,
  cdnUrl,
  channelPointerKey,
  channelsOf,
  concatShards,
  deviceVariant,
  pixelsToModelInput,
  pointerTarget,
  publishedFileProblem,
  readChannelPointer,
  readModelManifest,
  topClasses,
  trustedKeySetSchema,
} from '@edgeloop/shared';
import { selectBackend } from '@edgeloop/training';
import type { RemoteHub } from './remote-hub';

/** Largest signed pointer or manifest text read (a manifest names a few files per encoding). */
const MAX_SIGNED_TEXT_BYTES = 1024 * 1024;
/** Largest model file read: shards are at most 4 MiB; model.json holds the topology. */
const MAX_MODEL_FILE_BYTES = 64 * 1024 * 1024;

export interface ReplayModel {
  ref: ChannelRef;
  /** The version the channel's pointer names (or, for `candidate`, the canary's). */
  version: number;
  /** The verified pointer it was loaded from. */
  pointer: ChannelPointer;
  /** While the pointer names a canary: its candidate, which devices in the canary share run (modelForDevice). */
  candidate: ReplayModel | null;
  manifest: ModelManifest;
  backend: InferenceBackend;
  /** One call gives both outputs: [probabilities [n, classes], embedding [n, d]]. */
  model: tf.LayersModel;
  dispose(): void;
}

export interface Classified {
  top: TopClasses;
  embedding: number[];
  /** Preprocessing, inference and read-back of this one image, as the PWA measures it. */
  latencyMs: number;
}

/** Reads a response body, refusing one larger than `maxBytes` before it is all in memory. */
async function boundedBytes(response: Response, maxBytes: number, what: string): Promise<ArrayBuffer> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) throw new ModelRefused(`${what} is ${declared} bytes; at most ${maxBytes} are read`);
  const reader = response.body?.getReader();
  if (!reader) return new ArrayBuffer(0);
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new ModelRefused(`${what} is over ${maxBytes} bytes`);
    }
    parts.push(value);
  }
  return concatShards(parts.map((p) => p.buffer.slice(p.byteOffset, p.byteOffset + p.byteLength) as ArrayBuffer));
}

async function fetchBytes(url: string, maxBytes: number, what: string): Promise<ArrayBuffer> {
  const response = await fetch(url).catch((error: Error) => Promise.reject(new Error(`${what}: cannot reach ${url} (${error.message})`)));
  if (!response.ok) {
    await response.body?.cancel();
    throw new ModelRefused(`${what}: HTTP ${response.status} from ${url}`);
  }
  return boundedBytes(response, maxBytes, what);
}

/**
 * The channel's published model, verified (pointer, manifest, every file) and loaded on the fastest tfjs backend here;
 * while the pointer names a canary, its candidate too, verified the same way, for the simulated devices in its group.
 */
export async function loadReplayModel(hub: RemoteHub, hubUrl: string, ref: ChannelRef): Promise<ReplayModel> {
  // Trusted keys from the hub itself, never from the CDN, as the PWA takes them.
  const keySet = trustedKeySetSchema.parse(await hub.registry.publicKeys.query());
  const trusted = keySet.keys.map((k) => ({ keyId: k.keyId, publicKey: k.publicKey }));
  const pointerUrl = new URL(cdnUrl(keySet.cdnBaseUrl, channelPointerKey(ref.project, ref.model, ref.channel)), `${hubUrl}/`).href;
  const pointerResponse = await fetch(pointerUrl, { cache: 'no-cache' });
  if (pointerResponse.status === 404) {
    await pointerResponse.body?.cancel();
    throw new ModelRefused(`${ref.project}/${ref.model} has no ${ref.channel} model: promote a version to ${ref.channel} first (edgeloop promote ${ref.project} ${ref.model} <version> --channel ${ref.channel} --reason ...)`);
  }
  if (!pointerResponse.ok) throw new ModelRefused(`channel pointer: HTTP ${pointerResponse.status} from ${pointerUrl}`);
  const pointer = await readChannelPointer(utf8(await boundedBytes(pointerResponse, MAX_SIGNED_TEXT_BYTES, 'channel pointer')), trusted, ref);
  const backend = await selectBackend('auto');
  const current = await loadVersion(ref, pointer, pointerUrl, trusted, backend.name);
  if (!pointer.candidate) return { ...current, pointer, candidate: null };
  // Any id in the canary gives the candidate's target: the share is above 0, so one exists; the pointer says which version.
  const candidateTarget = { ...pointer, version: pointer.candidate.version, manifestPath: pointer.candidate.manifestPath, manifestSha256: pointer.candidate.manifestSha256 };
  const candidate = await loadVersion(ref, candidateTarget, pointerUrl, trusted, backend.name);
  return { ...current, pointer, candidate: { ...candidate, pointer, candidate: null }, dispose: () => (current.dispose(), candidate.dispose()) };
}

const utf8 = (bytes: ArrayBuffer) => new TextDecoder().decode(bytes);

/** One version the pointer names (`target` reads like a pointer to it), verified and loaded with the embedding as a second output. */
async function loadVersion(
  ref: ChannelRef,
  target: ChannelPointer,
  pointerUrl: string,
  trusted: { keyId: string; publicKey: string }[],
  backend: InferenceBackend,
): Promise<Omit<ReplayModel, 'pointer' | 'candidate'>> {
  const manifestUrl = new URL(target.manifestPath, pointerUrl).href;
  const manifest = await readModelManifest(utf8(await fetchBytes(manifestUrl, MAX_SIGNED_TEXT_BYTES, `manifest of v${target.version}`)), trusted, target);
  const variant = deviceVariant(manifest);
  const verified = async (file: PublishedFile) => {
    if (file.bytes > MAX_MODEL_FILE_BYTES) throw new ModelRefused(`${file.path} is ${file.bytes} bytes; at most ${MAX_MODEL_FILE_BYTES} are read`);
    const bytes = await fetchBytes(new URL(file.path, manifestUrl).href, file.bytes, file.path).catch((error: Error) => {
      // A longer file than the manifest says is a mismatch like any other.
      throw error instanceof ModelRefused && error.message.startsWith(`${file.path} is over`) ? new ModelRefused(`${file.path} does not match the signed manifest (more than ${file.bytes} bytes)`) : error;
    });
    const problem = await publishedFileProblem(bytes, file);
    if (problem) throw new ModelRefused(problem);
    return bytes;
  };
  const [modelJsonBytes, ...shards] = await Promise.all([variant.modelJson, ...variant.shards].map(verified));
  const modelJson = JSON.parse(utf8(modelJsonBytes!)) as { modelTopology: object; weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[] };
  const base = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: modelJson.weightsManifest.flatMap((g) => g.weights), weightData: concatShards(shards) }),
  );
  const model = tf.model({ inputs: base.inputs, outputs: [base.outputs[0]!, base.getLayer(manifest.embeddingLayer).output as tf.SymbolicTensor] });
  return { ref, version: manifest.version, manifest, backend, model, dispose: () => base.dispose() };
}

/** The model a simulated device runs: the candidate when its id falls in the pointer's canary share, as a PWA decides. */
export function modelForDevice(loaded: ReplayModel, deviceId: string): ReplayModel {
  return loaded.candidate && pointerTarget(loaded.pointer, deviceId).group === 'canary' ? loaded.candidate : loaded;
}

/**
 * Classifies one image given as decoded pixels at the model's input size (height * width * channels bytes,
 * row-major, interleaved), with the shared preprocessing. Leaves no tensor behind.
 */
export async function classifyImage(loaded: ReplayModel, pixels: Uint8Array): Promise<Classified> {
  const p = loaded.manifest.preprocessing;
  const channels = channelsOf(p.color);
  const started = performance.now();
  const input = pixelsToModelInput(pixels, channels, p);
  const [probabilities, embedding] = tf.tidy(() => loaded.model.predict(tf.tensor4d(input, [1, p.height, p.width, channels])) as tf.Tensor[]); // [1, classes], [1, d]
  try {
    const [probs, emb] = await Promise.all([probabilities!.data(), embedding!.data()]);
    return { top: topClasses(probs, loaded.manifest.labels), embedding: Array.from(emb), latencyMs: performance.now() - started };
  } finally {
    probabilities!.dispose();
    embedding!.dispose();
  }
}

/**
 * Classifies many images in one call of the model (for benchmarks that need throughput, not a device's per-image
 * latency): each of `images` as classifyImage takes it. latencyMs is the batch's time divided among its images.
 */
export async function classifyBatch(loaded: ReplayModel, images: readonly Uint8Array[]): Promise<Classified[]> {
  if (images.length === 0) return [];
  const p = loaded.manifest.preprocessing;
  const channels = channelsOf(p.color);
  const size = p.height * p.width * channels;
  const started = performance.now();
  const input = new Float32Array(images.length * size); // [n, h, w, c] row-major
  images.forEach((pixels, i) => pixelsToModelInput(pixels, channels, p, input.subarray(i * size, (i + 1) * size)));
  const [probabilities, embedding] = tf.tidy(() => loaded.model.predict(tf.tensor4d(input, [images.length, p.height, p.width, channels])) as tf.Tensor[]); // [n, classes], [n, d]
  try {
    const [probs, emb] = await Promise.all([probabilities!.data(), embedding!.data()]);
    const classes = probs.length / images.length;
    const d = emb.length / images.length;
    const latencyMs = (performance.now() - started) / images.length;
    return images.map((_, i) => ({
      top: topClasses(probs.subarray(i * classes, (i + 1) * classes), loaded.manifest.labels),
      embedding: Array.from(emb.subarray(i * d, (i + 1) * d)),
      latencyMs,
    }));
  } finally {
    probabilities!.dispose();
    embedding!.dispose();
  }
}
