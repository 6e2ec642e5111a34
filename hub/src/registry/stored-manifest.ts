/** A published version's signed manifest, read back from the object store and parsed with its contracts. */
import { type ModelManifest, modelManifestSchema, signedEnvelopeSchema } from '@edgeloop/shared';
import type { HubDeps } from '../deps';

/** The manifest signed at `manifestKey`; null when the object store no longer holds it. */
export async function readStoredManifest(deps: HubDeps, manifestKey: string): Promise<ModelManifest | null> {
  const stored = await deps.store.get(manifestKey);
  if (!stored) return null;
  const envelope = signedEnvelopeSchema.parse(JSON.parse(new TextDecoder().decode(stored)));
  return modelManifestSchema.parse(JSON.parse(envelope.payload));
}
