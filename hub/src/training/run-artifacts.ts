/**
 * A succeeded run's exported model files (written by training.job.ts under runArtifactPrefix: `<format>/model.json`
 * and `<format>/weights.bin`), read back as ModelArtifacts: for publishing, for evaluating a run that is not published
 * yet, and for warm-starting a run from another's float32 weights.
 */
import type { ModelFormat } from '@edgeloop/shared';
import type { ModelArtifacts } from '@edgeloop/training';
import type { HubDeps } from '../deps';

export async function readRunArtifacts(deps: HubDeps, prefix: string, format: ModelFormat): Promise<ModelArtifacts> {
  const [modelJson, weights] = await Promise.all([deps.store.get(`${prefix}${format}/model.json`), deps.store.get(`${prefix}${format}/weights.bin`)]);
  if (!modelJson || !weights) throw new Error(`the ${format} export of this run is missing from the object store (${prefix})`);
  const parsed = JSON.parse(new TextDecoder().decode(modelJson)) as { modelTopology: object; weightsManifest: { weights: ModelArtifacts['weightSpecs'] }[] };
  return { modelTopology: parsed.modelTopology, weightSpecs: parsed.weightsManifest.flatMap((g) => g.weights), weightData: weights };
}
