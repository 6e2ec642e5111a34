/** Checks a device runs before it trusts published bytes: Ed25519 signatures and sha256 hashes (WebCrypto). */
import type { SignedEnvelope } from '@edgeloop/shared';

export async function sha256Hex(bytes: ArrayBuffer | Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/**
 * Checks an envelope against the keys the hub publishes as trusted, using the one whose id the envelope names.
 * Returns null when it verifies, else what is wrong (to follow the name of the file, e.g. "manifest of v2 ...").
 */
export async function envelopeProblem(trusted: readonly { keyId: string; publicKey: string }[], envelope: SignedEnvelope): Promise<string | null> {
  const key = trusted.find((k) => k.keyId === envelope.keyId);
  if (!key) return `is signed by key ${envelope.keyId}, which the hub does not trust (trusted: ${trusted.map((k) => k.keyId).join(', ') || 'none'})`;
  let valid: boolean;
  try {
    valid = await verifyEnvelope(key.publicKey, envelope);
  } catch {
    valid = false; // a malformed signature or key text
  }
  return valid ? null : `has a signature that does not verify with key ${key.keyId}`;
}

/** True when `envelope.signature` is the Ed25519 signature of `envelope.payload` by the raw base64 public key. */
export async function verifyEnvelope(publicKeyRaw: string, envelope: SignedEnvelope): Promise<boolean> {
  const key = await crypto.subtle.importKey('raw', fromBase64(publicKeyRaw), { name: 'Ed25519' }, false, ['verify']);
  return crypto.subtle.verify({ name: 'Ed25519' }, key, fromBase64(envelope.signature), new TextEncoder().encode(envelope.payload));
}
