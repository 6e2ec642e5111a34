/**
 * `edgeloop replay`'s model: a channel's published model loaded as a device loads it. The hub's trusted keys come
 * from the hub (registry.publicKeys), the signed pointer, manifest and files from its CDN; every check is the shared
 * one the PWA runs (shared/src/model-verification.ts). Then the layers model is built with the embedding layer's
 * output as a second output, as the PWA's inference worker does.
 */
import * as tf from '@tensorflow/tfjs';
import {
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
  version: number;
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

/** The channel's published model, verified (pointer, manifest, every file) and loaded on the fastest tfjs backend here. */
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
  const text = (bytes: ArrayBuffer) => new TextDecoder().decode(bytes);
  const pointer = await readChannelPointer(text(await boundedBytes(pointerResponse, MAX_SIGNED_TEXT_BYTES, 'channel pointer')), trusted, ref);
  const manifestUrl = new URL(pointer.manifestPath, pointerUrl).href;
  const manifest = await readModelManifest(text(await fetchBytes(manifestUrl, MAX_SIGNED_TEXT_BYTES, `manifest of v${pointer.version}`)), trusted, pointer);

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
  const modelJson = JSON.parse(text(modelJsonBytes!)) as { modelTopology: object; weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[] };

  const backend = await selectBackend('auto');
  const base = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: modelJson.weightsManifest.flatMap((g) => g.weights), weightData: concatShards(shards) }),
  );
  const model = tf.model({ inputs: base.inputs, outputs: [base.outputs[0]!, base.getLayer(manifest.embeddingLayer).output as tf.SymbolicTensor] });
  return {
    ref,
    version: manifest.version,
    manifest,
    backend: backend.name,
    model,
    dispose: () => base.dispose(),
  };
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
