/**
 * The hub's Ed25519 key: signs model manifests and channel pointers. Devices verify with the public key
 * (raw 32 bytes, base64, for WebCrypto's importKey('raw', ..., 'Ed25519')).
 */
import crypto from 'node:crypto';
import { asc } from 'drizzle-orm';
import type { SignedEnvelope } from '@edgeloop/shared';
import { signingKeys } from '../db/schema';
import type { HubDeps } from '../deps';

export interface SigningKey {
  id: string;
  privateKey: crypto.KeyObject;
  publicKey: crypto.KeyObject;
  /** Raw 32-byte public key, base64. */
  publicKeyRaw: string;
  publicKeyPem: string;
}

let cached: { db: unknown; key: SigningKey } | undefined;

/** The active key, made on first use. Concurrent first uses agree on the oldest row. */
export async function signingKey(deps: HubDeps): Promise<SigningKey> {
  if (cached?.db === deps.db) return cached.key;
  let [row] = await deps.db.select().from(signingKeys).orderBy(asc(signingKeys.createdAt)).limit(1);
  if (!row) {
    const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
    const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await deps.db
      .insert(signingKeys)
      .values({ id: keyIdOf(publicKey), publicKeyPem, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() })
      .onConflictDoNothing();
    [row] = await deps.db.select().from(signingKeys).orderBy(asc(signingKeys.createdAt)).limit(1);
  }
  const publicKey = crypto.createPublicKey(row!.publicKeyPem);
  const key: SigningKey = {
    id: row!.id,
    privateKey: crypto.createPrivateKey(row!.privateKeyPem),
    publicKey,
    publicKeyRaw: rawPublicKey(publicKey).toString('base64'),
    publicKeyPem: row!.publicKeyPem,
  };
  cached = { db: deps.db, key };
  return key;
}

/** The last 32 bytes of an Ed25519 SPKI DER are the raw key. */
function rawPublicKey(publicKey: crypto.KeyObject): Buffer {
  return publicKey.export({ type: 'spki', format: 'der' }).subarray(-32);
}

function keyIdOf(publicKey: crypto.KeyObject): string {
  return crypto.createHash('sha256').update(rawPublicKey(publicKey)).digest('hex').slice(0, 16);
}

export function signPayload(key: SigningKey, payload: string): SignedEnvelope {
  return { payload, signature: crypto.sign(null, Buffer.from(payload, 'utf8'), key.privateKey).toString('base64'), keyId: key.id };
}

/** Verifies an envelope against a raw base64 public key; what every client does before trusting a manifest. */
export function verifyEnvelope(publicKeyRaw: string, envelope: SignedEnvelope): boolean {
  const spkiPrefix = Buffer.from('302a300506032b6570032100', 'hex'); // DER header of an Ed25519 SubjectPublicKeyInfo
  const publicKey = crypto.createPublicKey({ key: Buffer.concat([spkiPrefix, Buffer.from(publicKeyRaw, 'base64')]), format: 'der', type: 'spki' });
  return crypto.verify(null, Buffer.from(envelope.payload, 'utf8'), publicKey, Buffer.from(envelope.signature, 'base64'));
}
