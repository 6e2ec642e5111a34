/**
 * A published model version loaded in the hub exactly as devices load it: the signed manifest, its recommended
 * encoding's model.json and shards (each checked against its sha256), through tf.loadLayersModel (which dequantizes
 * float16/uint8 weights as a device does).
 */
import crypto from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import type { ModelManifest } from '@edgeloop/shared';
import { selectBackend } from '@edgeloop/training';
import type { HubDeps } from '../deps';
import { readStoredManifest } from './stored-manifest';

export interface LoadedModel {
  manifest: ModelManifest;
  model: tf.LayersModel;
}

let backendReady: Promise<unknown> | undefined;

/** The hub's tfjs backend, chosen once per process. */
export function hubBackendReady(): Promise<unknown> {
  backendReady ??= selectBackend('auto');
  return backendReady;
}

/** Loads the version whose signed manifest is at `manifestKey`; the caller owns (and disposes) the model. */
export async function readPublishedModel(deps: HubDeps, manifestKey: string): Promise<LoadedModel> {
  await hubBackendReady();
  const dir = manifestKey.slice(0, manifestKey.lastIndexOf('/') + 1);
  const manifest = await readStoredManifest(deps, manifestKey);
  if (!manifest) throw new Error(`the published manifest ${manifestKey} is missing from the object store`);
  const variant = manifest.variants.find((v) => v.format === manifest.recommended)!;
  const files = await Promise.all([variant.modelJson, ...variant.shards].map(async (file) => {
    const bytes = await deps.store.get(dir + file.path);
    if (!bytes || crypto.createHash('sha256').update(bytes).digest('hex') !== file.sha256) throw new Error(`published file ${dir}${file.path} is missing or does not match its sha256`);
    return bytes;
  }));
  const [modelJson, ...shards] = files;
  const parsed = JSON.parse(new TextDecoder().decode(modelJson)) as { modelTopology: object; weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[] };
  const weightData = Buffer.concat(shards.map((s) => Buffer.from(s!)));
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: parsed.modelTopology,
      weightSpecs: parsed.weightsManifest.flatMap((g) => g.weights),
      weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.length),
    }),
  );
  return { manifest, model };
}
