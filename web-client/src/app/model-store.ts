/**
 * Published models on the device: channel pointer -> signed manifest -> content-hashed files, each verified before
 * use. Verified files go into Cache Storage (they are immutable); the last verified model of each channel is
 * remembered, so the app starts offline from the cache and keeps its model when a newer one fails verification.
 */
import {
  type ChannelPointer,
  type ModelManifest,
  type ModelVariant,
  type PublishedFile,
  type SignedEnvelope,
  channelPointerSchema,
  modelManifestSchema,
  signedEnvelopeSchema,
} from '@edgeloop/shared';
import { readValue, writeValue } from './local-db';
import { sha256Hex, verifyEnvelope } from './verify';

const MODEL_CACHE = 'edgeloop-models-v1';

/** A model that failed a check; the message says which file and what was wrong. */
export class ModelRefused extends Error {
  override name = 'ModelRefused';
}

/** The channel has no published pointer: nothing promoted to it yet (or no such project or model). */
export class NoModelYet extends Error {
  override name = 'NoModelYet';
}

export interface ChannelRef {
  project: string;
  model: string;
  channel: string;
}

/** A verified model, ready for the inference worker. */
export interface VerifiedModel {
  ref: ChannelRef;
  version: number;
  manifest: ModelManifest;
  variant: ModelVariant;
  /** tfjs layers-model topology and weight specs, from the variant's model.json. */
  modelJson: { modelTopology: object; weightsManifest: { paths: string[]; weights: unknown[] }[] };
  /** The shards, concatenated in manifest order. */
  weights: ArrayBuffer;
  /** The signed texts it was verified from, for rememberModel. */
  signed: StoredModel;
}

interface HubKey {
  keyId: string;
  publicKey: string;
  cdnBaseUrl: string;
}

/** What is remembered of the last verified model of a channel: the signed texts, and where the files are. */
interface StoredModel {
  pointer: string;
  manifestUrl: string;
  manifest: string;
}

const storedKey = (ref: ChannelRef) => `model:${ref.project}/${ref.model}/${ref.channel}`;

/** The hub's signing key and CDN base: fetched when online (and on key rotation), remembered for offline use. */
async function hubKey(refresh: boolean): Promise<HubKey> {
  const stored = await readValue<HubKey>('hub-key');
  if (stored && !refresh) return stored;
  const response = await fetch('/trpc/registry.publicKey', { cache: 'no-cache' });
  if (!response.ok) throw new Error(`could not read the hub's public key: HTTP ${response.status}`);
  const { result } = (await response.json()) as { result: { data: HubKey } };
  const key = { keyId: result.data.keyId, publicKey: result.data.publicKey, cdnBaseUrl: result.data.cdnBaseUrl };
  await writeValue('hub-key', key);
  return key;
}

function envelopeOf(text: string): SignedEnvelope | null {
  try {
    return signedEnvelopeSchema.parse(JSON.parse(text));
  } catch {
    return null;
  }
}

async function openEnvelope(text: string, key: HubKey, what: string): Promise<string> {
  const envelope = envelopeOf(text);
  if (!envelope) throw new ModelRefused(`${what} is not a signed envelope`);
  if (envelope.keyId !== key.keyId) throw new ModelRefused(`${what} is signed by key ${envelope.keyId}, not the hub's key ${key.keyId}`);
  if (!(await verifyEnvelope(key.publicKey, envelope))) throw new ModelRefused(`${what}: the signature does not verify`);
  return envelope.payload;
}

async function readPointer(text: string, key: HubKey, ref: ChannelRef): Promise<ChannelPointer> {
  const pointer = channelPointerSchema.parse(JSON.parse(await openEnvelope(text, key, `channel pointer ${ref.channel}`)));
  if (pointer.project !== ref.project || pointer.model !== ref.model || pointer.channel !== ref.channel) {
    throw new ModelRefused(`channel pointer is for ${pointer.project}/${pointer.model}/${pointer.channel}, not ${ref.project}/${ref.model}/${ref.channel}`);
  }
  return pointer;
}

async function readManifest(text: string, key: HubKey, pointer: ChannelPointer): Promise<ModelManifest> {
  const sha256 = await sha256Hex(new TextEncoder().encode(text));
  if (sha256 !== pointer.manifestSha256) throw new ModelRefused(`manifest of v${pointer.version}: sha256 ${sha256.slice(0, 12)}… is not the one the channel pointer names`);
  const manifest = modelManifestSchema.parse(JSON.parse(await openEnvelope(text, key, `manifest of v${pointer.version}`)));
  if (manifest.version !== pointer.version) throw new ModelRefused(`manifest says v${manifest.version}; the channel points to v${pointer.version}`);
  return manifest;
}

/** The file's bytes from the cache, else the network; only bytes that match the manifest are returned or cached. */
async function verifiedFile(url: string, file: PublishedFile, offline: boolean): Promise<ArrayBuffer> {
  const cache = await caches.open(MODEL_CACHE);
  const cached = await cache.match(url);
  if (cached) {
    const bytes = await cached.arrayBuffer();
    if (bytes.byteLength === file.bytes && (await sha256Hex(bytes)) === file.sha256) return bytes;
    await cache.delete(url);
  }
  if (offline) throw new ModelRefused(`${file.path} is not in this device's cache`);
  const response = await fetch(url);
  if (!response.ok) throw new ModelRefused(`${file.path}: HTTP ${response.status}`);
  const bytes = await response.arrayBuffer();
  const sha256 = await sha256Hex(bytes);
  if (bytes.byteLength !== file.bytes || sha256 !== file.sha256) {
    throw new ModelRefused(`${file.path} does not match the signed manifest (sha256 ${sha256.slice(0, 12)}…, ${bytes.byteLength} bytes; expected ${file.sha256.slice(0, 12)}…, ${file.bytes} bytes)`);
  }
  await cache.put(url, new Response(bytes, { headers: { 'content-type': response.headers.get('content-type') ?? 'application/octet-stream' } }));
  return bytes;
}

async function assemble(ref: ChannelRef, manifest: ModelManifest, signed: StoredModel, offline: boolean): Promise<VerifiedModel> {
  const { manifestUrl } = signed;
  const variant = manifest.variants.find((v) => v.format === manifest.recommended) ?? manifest.variants[0]!;
  const files = await Promise.all([variant.modelJson, ...variant.shards].map((file) => verifiedFile(new URL(file.path, manifestUrl).href, file, offline)));
  const [modelJson, ...shards] = files;
  const weights = new Uint8Array(shards.reduce((n, s) => n + s.byteLength, 0));
  let offset = 0;
  for (const shard of shards) {
    weights.set(new Uint8Array(shard), offset);
    offset += shard.byteLength;
  }
  return {
    ref,
    version: manifest.version,
    manifest,
    variant,
    modelJson: JSON.parse(new TextDecoder().decode(modelJson)),
    weights: weights.buffer,
    signed,
  };
}

/** The last verified model of this channel, from this device alone (no network). Null if there is none. */
export async function loadCachedModel(ref: ChannelRef): Promise<VerifiedModel | null> {
  const stored = await readValue<StoredModel>(storedKey(ref));
  const key = await readValue<HubKey>('hub-key');
  if (!stored || !key) return null;
  const pointer = await readPointer(stored.pointer, key, ref);
  return assemble(ref, await readManifest(stored.manifest, key, pointer), stored, true);
}

/** Makes `model` the channel's model on this device: call it once the model runs. */
export async function rememberModel(model: VerifiedModel): Promise<void> {
  await writeValue(storedKey(model.ref), model.signed);
}

/**
 * Reads the channel pointer from the CDN. Resolves null when it still points to `currentVersion`; otherwise
 * downloads and verifies that version (rememberModel makes it the channel's model once it runs). Throws
 * ModelRefused when a check fails, including a validly signed pointer older than the one this device trusts
 * (a replayed pointer would roll devices back); a rollback in the hub signs a new pointer, so it passes.
 */
export async function fetchChannelModel(ref: ChannelRef, currentVersion: number | null): Promise<VerifiedModel | null> {
  let key = await hubKey(false);
  const pointerUrl = new URL(`${key.cdnBaseUrl.replace(/\/$/, '')}/${ref.project}/${ref.model}/channels/${ref.channel}.json`, location.href).href;
  // The pointer has a short max-age: revalidate so a promotion shows at once.
  const response = await fetch(pointerUrl, { cache: 'no-cache' });
  if (response.status === 404) throw new NoModelYet(`${ref.project}/${ref.model} has no ${ref.channel} model yet: promote a version to ${ref.channel} in the hub`);
  if (!response.ok) throw new Error(`channel pointer: HTTP ${response.status}`);
  const pointerText = await response.text();
  // A new signing key (rotation) is fetched from the hub itself, never taken from the CDN.
  if (envelopeOf(pointerText)?.keyId !== key.keyId) key = await hubKey(true);
  const pointer = await readPointer(pointerText, key, ref);
  if (pointer.version === currentVersion) return null;
  const trusted = await readValue<StoredModel>(storedKey(ref));
  const trustedMovedAt = trusted ? channelPointerSchema.parse(JSON.parse(envelopeOf(trusted.pointer)!.payload)).movedAt : null;
  if (trustedMovedAt && Date.parse(pointer.movedAt) < Date.parse(trustedMovedAt)) {
    throw new ModelRefused(`channel pointer for v${pointer.version} was moved at ${pointer.movedAt}, before the one this device has (${trustedMovedAt}): an old pointer replayed`);
  }

  const manifestUrl = new URL(pointer.manifestPath, pointerUrl).href;
  const manifestResponse = await fetch(manifestUrl);
  if (!manifestResponse.ok) throw new ModelRefused(`manifest of v${pointer.version}: HTTP ${manifestResponse.status}`);
  const manifestText = await manifestResponse.text();
  const manifest = await readManifest(manifestText, key, pointer);
  return assemble(ref, manifest, { pointer: pointerText, manifestUrl, manifest: manifestText }, false);
}
