/** Signed files read back from the object store (manifests, channel pointers) and parsed with their contracts. */
import { type ModelManifest, modelManifestSchema, signedEnvelopeSchema } from '@edgeloop/shared';
import type { HubDeps } from '../deps';

/** The payload a signed envelope's text carries, parsed as JSON (the caller parses it with its contract). */
export const signedPayload = (text: string): unknown => JSON.parse(signedEnvelopeSchema.parse(JSON.parse(text)).payload);

/** The manifest signed at `manifestKey`; null when the object store no longer holds it. */
export async function readStoredManifest(deps: HubDeps, manifestKey: string): Promise<ModelManifest | null> {
  const stored = await deps.store.get(manifestKey);
  return stored ? modelManifestSchema.parse(signedPayload(new TextDecoder().decode(stored))) : null;
}
