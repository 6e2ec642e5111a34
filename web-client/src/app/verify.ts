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

/** True when `envelope.signature` is the Ed25519 signature of `envelope.payload` by the raw base64 public key. */
export async function verifyEnvelope(publicKeyRaw: string, envelope: SignedEnvelope): Promise<boolean> {
  const key = await crypto.subtle.importKey('raw', fromBase64(publicKeyRaw), { name: 'Ed25519' }, false, ['verify']);
  return crypto.subtle.verify({ name: 'Ed25519' }, key, fromBase64(envelope.signature), new TextEncoder().encode(envelope.payload));
}
