/**
 * Server-side prediction for clients that cannot run the model: the published model (the variant devices get) and
 * the shared preprocessing, so the answer matches what a device would compute.
 */
import * as tf from '@tensorflow/tfjs';
import { MAX_IMAGE_BYTES, channelsOf, pixelsToModelInput } from '@edgeloop/shared';
import type { Caller, HubDeps } from '../deps';
import type { Project } from '../projects/project.repository';
import { getProject } from '../projects/project.service';
import { badRequest, notFound } from '../errors';
import { assertImageWithinPixels } from '../images/decode';
import { decodeToPixels } from '../images/to-pixels';
import { TokenBuckets } from '../rate-limit';
import { getChannel } from './channel.service';
import * as models from './model-version.repository';
import { type LoadedModel, readPublishedModel } from './published-model';

// Model versions never change: keep the few most recently used in memory.
const loaded = new Map<string, Promise<LoadedModel>>();
const LOADED_MODELS = 4;

/** Each token may predict PREDICT_BURST times at once, then PREDICT_PER_SECOND times a second: decoding and inference cost CPU. */
export const PREDICT_BURST = 20;
export const PREDICT_PER_SECOND = 5;
const predictBuckets = new TokenBuckets({ burst: PREDICT_BURST, perSecond: PREDICT_PER_SECOND, what: 'registry.predict' });

export interface PredictInput {
  project: string;
  model: string;
  /** A channel name, or a version number. */
  channel?: string;
  version?: number;
  /** PNG, JPEG or WebP bytes, base64. */
  imageBase64: string;
  topK: number;
}

export async function predict(deps: HubDeps, caller: Caller, input: PredictInput) {
  predictBuckets.take(caller.tokenId ?? `name:${caller.name}`, deps.now());
  const bytes = Buffer.from(input.imageBase64, 'base64');
  if (bytes.length === 0) throw badRequest('imageBase64: empty image');
  if (bytes.length > MAX_IMAGE_BYTES) throw badRequest(`imageBase64: image is ${bytes.length} bytes; at most ${MAX_IMAGE_BYTES} are accepted`);
  const project = await getProject(deps, input.project);
  // The size from the header, before the model is loaded or a pixel decoded.
  await assertImageWithinPixels(bytes, 'imageBase64', project.maxImagePixels);
  const manifestKey = await resolveManifestKey(deps, project, input);
  const { manifest, model } = await loadModel(deps, manifestKey);
  const p = manifest.preprocessing;
  const channels = channelsOf(p.color);
  const pixels = await decodeToPixels(bytes, { height: p.height, width: p.width, channels }, project.maxImagePixels).catch((error: Error) => {
    throw badRequest(`imageBase64: not a decodable PNG, JPEG or WebP image (${error.message.split('\n')[0]})`);
  });
  const started = performance.now();
  const probabilities = tf.tidy(() => {
    const x = tf.tensor4d(pixelsToModelInput(pixels, channels, p), [1, p.height, p.width, channels]); // [1, h, w, c]
    return (model.predict(x) as tf.Tensor2D).dataSync(); // [1, classes]
  });
  const ranked = Array.from(probabilities, (probability, i) => ({ label: manifest.labels[i]!, probability })).sort((a, b) => b.probability - a.probability);
  return {
    model: manifest.model,
    version: manifest.version,
    format: manifest.recommended,
    backend: tf.getBackend(),
    milliseconds: performance.now() - started,
    top: ranked.slice(0, input.topK),
  };
}

async function resolveManifestKey(deps: HubDeps, project: Project, input: PredictInput): Promise<string> {
  if (input.version === undefined) {
    const channel = await getChannel(deps, { project: input.project, model: input.model, channel: input.channel ?? 'production' });
    return manifestKeyOf(deps, project, input, channel.version.version);
  }
  return manifestKeyOf(deps, project, input, input.version);
}

async function manifestKeyOf(deps: HubDeps, project: Project, input: PredictInput, version: number): Promise<string> {
  const manifestKey = await models.manifestKeyOf(deps.db, { projectId: project.id, model: input.model, version });
  if (manifestKey === null) throw notFound(`model "${input.model}" of "${input.project}" has no version ${version}`);
  return manifestKey;
}

function loadModel(deps: HubDeps, manifestKey: string): Promise<LoadedModel> {
  let entry = loaded.get(manifestKey);
  if (!entry) {
    entry = readPublishedModel(deps, manifestKey);
    entry.catch(() => loaded.delete(manifestKey));
    loaded.set(manifestKey, entry);
    if (loaded.size > LOADED_MODELS) {
      const [oldest, evicted] = loaded.entries().next().value!;
      loaded.delete(oldest);
      void evicted.then((m) => m.model.dispose()).catch(() => {});
    }
  }
  return entry;
}
