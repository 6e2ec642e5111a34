/**
 * Ed25519 signatures over model manifests and channel pointers. The keys live in the key ring (key-ring.ts), as
 * owner-only files outside the database. Devices verify with the public key whose id the envelope names
 * (raw 32 bytes, base64, for WebCrypto's importKey('raw', ..., 'Ed25519')).
 */
import crypto from 'node:crypto';
import { type SignedEnvelope, signedEnvelopeSchema } from '@edgeloop/shared';
import type { HubDeps } from '../deps';

export interface SigningKey {
  id: string;
  privateKey: crypto.KeyObject;
  publicKey: crypto.KeyObject;
  /** Raw 32-byte public key, base64. */
  publicKeyRaw: string;
  publicKeyPem: string;
}

/** The active key of the hub's key ring: what new manifests and pointers are signed with. */
export function signingKey(deps: HubDeps): Promise<SigningKey> {
  return deps.keys.active();
}

/** The key id of the signed envelope stored at `key` (a manifest or a pointer); null when it is missing or unreadable. */
export async function envelopeKeyId(deps: HubDeps, key: string): Promise<string | null> {
  const bytes = await deps.store.get(key);
  if (!bytes) return null;
  try {
    return signedEnvelopeSchema.parse(JSON.parse(new TextDecoder().decode(bytes))).keyId;
  } catch {
    return null;
  }
}

/** Manifest signers by manifest key: a published manifest's file name holds its bytes' sha256, so its signer never changes. */
const manifestSigners = new Map<string, string>();
const MAX_REMEMBERED_MANIFESTS = 10_000;
const CONTENT_ADDRESSED_MANIFEST = /\/manifest\.[0-9a-f]{16}\.json$/;

/**
 * The key id a published manifest (at its content-addressed `manifestKey`) is signed with, read from the store once per
 * process: the registry asks it for every channel on every listing. Null when it is missing or unreadable (not kept).
 */
export async function manifestKeyId(deps: HubDeps, manifestKey: string): Promise<string | null> {
  const known = manifestSigners.get(manifestKey);
  if (known) return known;
  const keyId = await envelopeKeyId(deps, manifestKey);
  if (keyId !== null && CONTENT_ADDRESSED_MANIFEST.test(manifestKey)) {
    if (manifestSigners.size >= MAX_REMEMBERED_MANIFESTS) manifestSigners.clear();
    manifestSigners.set(manifestKey, keyId);
  }
  return keyId;
}

/** The last 32 bytes of an Ed25519 SPKI DER are the raw key. */
export function rawPublicKey(publicKey: crypto.KeyObject): Buffer {
  return publicKey.export({ type: 'spki', format: 'der' }).subarray(-32);
}

/** A key's id: the first 16 hex digits of the sha256 of its raw public key. */
export function keyIdOf(publicKey: crypto.KeyObject): string {
  return crypto.createHash('sha256').update(rawPublicKey(publicKey)).digest('hex').slice(0, 16);
}

const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex'); // DER header of an Ed25519 SubjectPublicKeyInfo

/** The KeyObject of a raw base64 Ed25519 public key. */
export function publicKeyFromRaw(publicKeyRaw: string): crypto.KeyObject {
  return crypto.createPublicKey({ key: Buffer.concat([SPKI_PREFIX, Buffer.from(publicKeyRaw, 'base64')]), format: 'der', type: 'spki' });
}

export function signPayload(key: SigningKey, payload: string): SignedEnvelope {
  return { payload, signature: crypto.sign(null, Buffer.from(payload, 'utf8'), key.privateKey).toString('base64'), keyId: key.id };
}

/** Verifies an envelope against a raw base64 public key; what every client does before trusting a manifest. */
export function verifyEnvelope(publicKeyRaw: string, envelope: SignedEnvelope): boolean {
  return crypto.verify(null, Buffer.from(envelope.payload, 'utf8'), publicKeyFromRaw(publicKeyRaw), Buffer.from(envelope.signature, 'base64'));
}
