/** The keys a device may trust (the hub's published set), which one signs now, and where the CDN is. */
import type { TrustedKeySet } from '@edgeloop/shared';
import type { HubDeps } from '../deps';

export async function trustedKeySet(deps: HubDeps): Promise<TrustedKeySet> {
  const keys = await deps.keys.trusted();
  return {
    keys: keys.map((k) => ({ keyId: k.id, algorithm: 'Ed25519' as const, publicKey: k.publicKey, publicKeyPem: k.publicKeyPem, active: k.state === 'active' })),
    activeKeyId: keys.find((k) => k.state === 'active')!.id,
    cdnBaseUrl: deps.cdnBaseUrl,
  };
}
