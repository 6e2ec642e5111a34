/**
 * The checks a device runs before it trusts published model bytes, shared by the PWA and `edgeloop replay`: Ed25519
 * signatures of the channel pointer and the manifest against the hub's trusted keys, the manifest's sha256 against
 * the pointer, and every file's sha256 and size against the manifest. WebCrypto only (browsers and Node alike); no
 * fetching or caching here: where the bytes come from is the caller's business.
 */
import { type ChannelPointer, type ModelManifest, type ModelVariant, type PublishedFile, type SignedEnvelope, type TrustedKey, channelPointerSchema, modelManifestSchema, signedEnvelopeSchema } from './model-manifest';

/** A model that failed a check; the message says which file and what was wrong. */
export class ModelRefused extends Error {
  override name = 'ModelRefused';
}

/** What verifying needs of a key the hub publishes as trusted: its id and the raw 32-byte Ed25519 public key, base64. */
export type VerifyingKey = Pick<TrustedKey, 'keyId' | 'publicKey'>;

/** Which channel of which model a pointer must be for. */
export interface ChannelRef {
  project: string;
  model: string;
  channel: string;
}

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

/**
 * Checks an envelope against the keys the hub publishes as trusted, using the one whose id the envelope names.
 * Returns null when it verifies, else what is wrong (to follow the name of the file, e.g. "manifest of v2 ...").
 */
export async function envelopeProblem(trusted: readonly VerifyingKey[], envelope: SignedEnvelope): Promise<string | null> {
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

/** The envelope in a published file's text, or null when it is not one. */
export function envelopeOf(text: string): SignedEnvelope | null {
  try {
    return signedEnvelopeSchema.parse(JSON.parse(text));
  } catch {
    return null;
  }
}

/** Whether one of the trusted keys is the one the text's envelope names (else the caller may refresh its keys). */
export const trustsEnvelope = (trusted: readonly VerifyingKey[], text: string): boolean => trusted.some((k) => k.keyId === envelopeOf(text)?.keyId);

/** The payload of an envelope signed by one of the trusted keys: the one whose id the envelope names. */
export async function openEnvelope(text: string, trusted: readonly VerifyingKey[], what: string): Promise<string> {
  const envelope = envelopeOf(text);
  if (!envelope) throw new ModelRefused(`${what} is not a signed envelope`);
  const problem = await envelopeProblem(trusted, envelope);
  if (problem) throw new ModelRefused(`${what} ${problem}`);
  return envelope.payload;
}

/** A signed channel pointer's content, refused unless it is signed by a trusted key and names `ref`. */
export async function readChannelPointer(text: string, trusted: readonly VerifyingKey[], ref: ChannelRef): Promise<ChannelPointer> {
  const pointer = channelPointerSchema.parse(JSON.parse(await openEnvelope(text, trusted, `channel pointer ${ref.channel}`)));
  if (pointer.project !== ref.project || pointer.model !== ref.model || pointer.channel !== ref.channel) {
    throw new ModelRefused(`channel pointer is for ${pointer.project}/${pointer.model}/${pointer.channel}, not ${ref.project}/${ref.model}/${ref.channel}`);
  }
  return pointer;
}

/** A signed manifest's content, refused unless its sha256 is the pointer's, its signature trusted and its version the pointer's. */
export async function readModelManifest(text: string, trusted: readonly VerifyingKey[], pointer: ChannelPointer): Promise<ModelManifest> {
  const sha256 = await sha256Hex(new TextEncoder().encode(text));
  if (sha256 !== pointer.manifestSha256) throw new ModelRefused(`manifest of v${pointer.version}: sha256 ${sha256.slice(0, 12)}… is not the one the channel pointer names`);
  const manifest = modelManifestSchema.parse(JSON.parse(await openEnvelope(text, trusted, `manifest of v${pointer.version}`)));
  if (manifest.version !== pointer.version) throw new ModelRefused(`manifest says v${manifest.version}; the channel points to v${pointer.version}`);
  return manifest;
}

/** The variant a device runs: the manifest's recommended encoding. */
export function deviceVariant(manifest: ModelManifest): ModelVariant {
  return manifest.variants.find((v) => v.format === manifest.recommended) ?? manifest.variants[0]!;
}

/** Null when the bytes are the file the signed manifest names (size and sha256), else what differs. */
export async function publishedFileProblem(bytes: ArrayBuffer | Uint8Array<ArrayBuffer>, file: PublishedFile): Promise<string | null> {
  const sha256 = await sha256Hex(bytes);
  if (bytes.byteLength === file.bytes && sha256 === file.sha256) return null;
  return `${file.path} does not match the signed manifest (sha256 ${sha256.slice(0, 12)}…, ${bytes.byteLength} bytes; expected ${file.sha256.slice(0, 12)}…, ${file.bytes} bytes)`;
}

/** The shards back to back, in manifest order: the weight data model.json's weight specs describe. */
export function concatShards(shards: readonly ArrayBuffer[]): ArrayBuffer {
  const weights = new Uint8Array(shards.reduce((n, s) => n + s.byteLength, 0));
  let offset = 0;
  for (const shard of shards) {
    weights.set(new Uint8Array(shard), offset);
    offset += shard.byteLength;
  }
  return weights.buffer;
}
