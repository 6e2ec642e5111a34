/** For tests: a signing key made as the hub makes its keys, to sign envelopes a device must verify. */
import nodeCrypto from 'node:crypto';
import type { SignedEnvelope } from '@edgeloop/shared';

/** A key as the hub makes it: id = first 16 hex of sha256(raw public key); publicKey = raw 32 bytes, base64. */
export function hubKey() {
  const { publicKey, privateKey } = nodeCrypto.generateKeyPairSync('ed25519');
  const raw = publicKey.export({ type: 'spki', format: 'der' }).subarray(-32);
  const keyId = nodeCrypto.createHash('sha256').update(raw).digest('hex').slice(0, 16);
  return {
    trusted: { keyId, publicKey: raw.toString('base64') },
    /** The public key in PEM, as the hub publishes it beside the raw one. */
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    sign: (payload: string): SignedEnvelope => ({ payload, keyId, signature: nodeCrypto.sign(null, Buffer.from(payload), privateKey).toString('base64') }),
  };
}
export type HubKey = ReturnType<typeof hubKey>;
