/**
 * Published models on the device: channel pointer -> signed manifest -> content-hashed files, each verified before
 * use. Verified files go into Cache Storage (they are immutable); the last verified model of each channel is
 * remembered, so the app starts offline from the cache and keeps its model when a newer one fails verification.
 */
import {
  type ChannelPointer,
  type ChannelRef,
  type ModelManifest,
  type ModelVariant,
  type PublishedFile,
  type RolloutAssignment,
  type RolloutGroup,
  ModelRefused,
  cdnUrl,
  channelPointerKey,
  channelPointerSchema,
  concatShards,
  deviceVariant,
  envelopeOf,
  pointerTarget,
  publishedFileProblem,
  readChannelPointer,
  readModelManifest,
  sha256Hex,
  trustedKeySetSchema,
  trustsEnvelope,
} from '@edgeloop/shared';
import { readValue, writeValue } from './local-db';
import { takeStartKeys, takeStartText } from './page-start';

const MODEL_CACHE = 'edgeloop-models-v1';

// The checks themselves are shared with `edgeloop replay`: the same code decides what a device trusts.
export { type ChannelRef, ModelRefused, type RolloutAssignment };

/** The channel has no published pointer: nothing promoted to it yet (or no such project or model). */
export class NoModelYet extends Error {
  override name = 'NoModelYet';
}

/** A verified model, ready for the inference worker. */
export interface VerifiedModel {
  ref: ChannelRef;
  /** The version it is: the candidate's while this device is in a canary (the channel stays the same). */
  version: number;
  /** The rollout this device was in when it took the model; null without a canary. */
  rollout: RolloutAssignment | null;
  manifest: ModelManifest;
  variant: ModelVariant;
  /** tfjs layers-model topology and weight specs, from the variant's model.json. */
  modelJson: { modelTopology: object; weightsManifest: { paths: string[]; weights: unknown[] }[] };
  /** The shards, concatenated in manifest order. */
  weights: ArrayBuffer;
  /** The signed texts it was verified from, for rememberModel. */
  signed: StoredModel;
}

/** The keys this device trusts (the hub's published set) and the CDN base. */
interface HubKeys {
  keys: { keyId: string; publicKey: string }[];
  activeKeyId: string;
  cdnBaseUrl: string;
  /** When the set was read from the hub (Date.now()); a retired key stops being trusted at the next read. */
  fetchedAt: number;
}

/** How long a remembered key set is used before the hub is asked again (a retirement reaches devices this fast). */
const KEYS_MAX_AGE_MS = 10 * 60_000;

/** What devices stored before the hub published a set of keys: its one key. */
interface LegacyHubKey {
  keyId: string;
  publicKey: string;
  cdnBaseUrl: string;
}

/** What is remembered of the last verified model of a channel: the signed texts, and where the files are. */
interface StoredModel {
  pointer: string;
  manifestUrl: string;
  manifest: string;
  /** Which of the pointer's versions the manifest is: absent (models remembered before canaries) = production. */
  group?: RolloutGroup;
  /** The device id the group was decided with (stored so the cached model verifies offline without it). */
  deviceId?: string | null;
}

const storedKey = (ref: ChannelRef) => `model:${ref.project}/${ref.model}/${ref.channel}`;

/** The trusted keys remembered on this device (for offline use), or null before the first fetch. */
async function storedHubKeys(): Promise<HubKeys | null> {
  const stored = await readValue<HubKeys>('hub-keys');
  if (stored) return stored;
  const legacy = await readValue<LegacyHubKey>('hub-key');
  return legacy ? { keys: [{ keyId: legacy.keyId, publicKey: legacy.publicKey }], activeKeyId: legacy.keyId, cdnBaseUrl: legacy.cdnBaseUrl, fetchedAt: 0 } : null;
}

async function fetchHubKeys(): Promise<HubKeys> {
  // A first visit's page carries the hub's answer (page-start.ts); the hub's client is loaded only when it did not.
  const answer =
    takeStartKeys() ??
    (await (await import('../hub-client'))
      .publicHubClient()
      .registry.publicKeys.query()
      .catch((error: unknown) => Promise.reject(new Error(`could not read the hub's signing keys: ${(error as Error).message}`))));
  // Checked as it enters the device: these keys decide which models it runs.
  const set = trustedKeySetSchema.parse(answer);
  const keys: HubKeys = { keys: set.keys.map((k) => ({ keyId: k.keyId, publicKey: k.publicKey })), activeKeyId: set.activeKeyId, cdnBaseUrl: set.cdnBaseUrl, fetchedAt: Date.now() };
  latestKeys = keys;
  // Remembered for offline starts without holding this check up: a first visit's database can take 100 ms to open.
  writeValue('hub-keys', keys).catch(() => {}); // not remembered: the next start asks the hub again
  return keys;
}
/** The set this page last read from the hub. */
let latestKeys: HubKeys | null = null;

/**
 * The hub's trusted signing keys and CDN base, for taking a new model: read from the hub itself (never from the CDN)
 * and remembered. The remembered set serves for KEYS_MAX_AGE_MS; after that the hub must answer, so a CDN that is
 * reachable while the hub is not cannot slip in a version signed by a key the hub has retired since. `refresh` (an
 * envelope names a key this device does not know) insists on the hub's current set. The cached model verifies
 * offline with the remembered set (loadCachedModel).
 */
async function hubKeys(refresh: boolean): Promise<HubKeys> {
  if (!refresh) {
    // A read under way (prefetchHubKeys) is as fresh as a set gets: take its answer.
    if (keysInFlight) return keysInFlight;
    const known = latestKeys ?? (await storedHubKeys());
    if (known && Date.now() - known.fetchedAt < KEYS_MAX_AGE_MS) return known;
  }
  keysInFlight ??= fetchHubKeys().finally(() => (keysInFlight = null));
  return keysInFlight;
}
let keysInFlight: Promise<HubKeys> | null = null;

/**
 * Reads the hub's keys now, if the remembered ones will not do, so a model check that follows need not wait for them.
 * `firstVisit`: nothing can be remembered yet, so the request goes out without reading the device's database first.
 */
export function prefetchHubKeys(firstVisit = false): void {
  if (firstVisit) keysInFlight ??= fetchHubKeys().finally(() => (keysInFlight = null));
  hubKeys(false).catch(() => {}); // the check that needs them reports why they could not be read
}

const trusts = (keys: HubKeys, text: string) => trustsEnvelope(keys.keys, text);

/**
 * The header a cached model file is stored with: the sha256 its bytes were checked to have (the signed manifest's)
 * just before they were stored. Only this code writes the cache, and only after that check.
 */
const VERIFIED_SHA256 = 'x-edgeloop-verified-sha256';

/**
 * Whether cached bytes can be used without hashing them again: they were stored as verified for exactly the sha256
 * (and size) that the signed manifest, verified again on every start, names for this file. This keeps what the
 * check protects: a file of another version (or another file) carries another hash, and Cache Storage is this
 * origin's alone, so what could write a false mark there could as well replace the checking code itself.
 */
export function verifiedBefore(mark: string | null, byteLength: number, file: PublishedFile): boolean {
  return mark === file.sha256 && byteLength === file.bytes;
}

const verifiedResponse = (bytes: ArrayBuffer, file: PublishedFile, contentType: string) =>
  new Response(bytes, { headers: { 'content-type': contentType, [VERIFIED_SHA256]: file.sha256 } });

/**
 * Where a model's files are read from: only the cache (offline, the model this device trusts), the cache and else the
 * network, or only the network (a first visit: its cache is empty, and opening it first can take 100 ms).
 */
type FileSource = 'cache' | 'cache, else network' | 'network';

/** The file's bytes from `source`; only bytes that match the manifest are returned or cached. */
async function verifiedFile(url: string, file: PublishedFile, source: FileSource): Promise<ArrayBuffer> {
  const cache = caches.open(MODEL_CACHE);
  cache.catch(() => {}); // a cache that cannot open loses the offline start only, and the model check says so
  const cached = source === 'network' ? undefined : await (await cache).match(url);
  if (cached) {
    const bytes = await cached.arrayBuffer();
    if (verifiedBefore(cached.headers.get(VERIFIED_SHA256), bytes.byteLength, file)) return bytes;
    // Stored without the mark (by an earlier version of the app), or marked for other bytes: hash them.
    if ((await publishedFileProblem(bytes, file)) === null) {
      await (await cache).put(url, verifiedResponse(bytes, file, cached.headers.get('content-type') ?? 'application/octet-stream'));
      return bytes;
    }
    await (await cache).delete(url);
  }
  if (source === 'cache') throw new ModelRefused(`${file.path} is not in this device's cache`);
  const response = await fetch(url);
  if (!response.ok) throw new ModelRefused(`${file.path}: HTTP ${response.status}`);
  const bytes = await response.arrayBuffer();
  const problem = await publishedFileProblem(bytes, file);
  if (problem) throw new ModelRefused(problem);
  // Stored while the model loads; rememberModel waits for it, so a remembered model's files are always cached.
  const stored = cache.then((c) => c.put(url, verifiedResponse(bytes, file, response.headers.get('content-type') ?? 'application/octet-stream')));
  cacheWrites.add(stored);
  stored.catch(() => {}).finally(() => cacheWrites.delete(stored));
  return bytes;
}
/** Verified files still being written to the cache. */
const cacheWrites = new Set<Promise<void>>();

async function assemble(ref: ChannelRef, manifest: ModelManifest, signed: StoredModel, rollout: RolloutAssignment | null, source: FileSource): Promise<VerifiedModel> {
  const { manifestUrl } = signed;
  const variant = deviceVariant(manifest);
  const files = await Promise.all([variant.modelJson, ...variant.shards].map((file) => verifiedFile(new URL(file.path, manifestUrl).href, file, source)));
  const [modelJson, ...shards] = files;
  return {
    ref,
    version: manifest.version,
    rollout,
    manifest,
    variant,
    modelJson: JSON.parse(new TextDecoder().decode(modelJson)),
    weights: concatShards(shards),
    signed,
  };
}

/** The last verified model of this channel, from this device alone (no network). Null if there is none. */
export async function loadCachedModel(ref: ChannelRef): Promise<VerifiedModel | null> {
  const stored = await readValue<StoredModel>(storedKey(ref));
  const key = await storedHubKeys();
  if (!stored || !key) return null;
  const pointer = await readChannelPointer(stored.pointer, key.keys, ref);
  // The manifest remembered is the version the device's group ran: checked against that part of the signed pointer.
  const { target, assignment } = stored.group === 'canary' ? pointerTarget(pointer, stored.deviceId ?? null) : { target: pointer, assignment: pointerTarget(pointer, null).assignment };
  return assemble(ref, await readModelManifest(stored.manifest, key.keys, target), stored, assignment, 'cache');
}

/** Makes `model` the channel's model on this device: call it once the model runs. */
export async function rememberModel(model: VerifiedModel): Promise<void> {
  await Promise.all(cacheWrites); // a write that failed leaves the file to be fetched again (offline: refused as not cached)
  await writeValue(storedKey(model.ref), model.signed);
}

export interface FetchOptions {
  /** This installation's id: with a canary in the pointer, it decides the device's group (none: production). */
  deviceId?: string | null | Promise<string | null>;
  /** Told the device's rollout assignment whenever the pointer is read (null: no canary). */
  onAssignment?: (assignment: RolloutAssignment | null) => void;
  /** Nothing is cached on this device yet: the files come from the network without looking in the cache first. */
  firstVisit?: boolean;
}

/**
 * Reads the channel pointer from the CDN. Resolves null when the version this device runs (the candidate's in a canary
 * it is in, else the pointer's) is still `currentVersion`; otherwise downloads and verifies that version exactly as
 * any other (rememberModel makes it the channel's model once it runs). Throws ModelRefused when a check fails,
 * including a validly signed pointer older than the one this device trusts (a replayed pointer would roll devices
 * back); a rollback in the hub signs a new pointer, so it passes.
 */
export async function fetchChannelModel(ref: ChannelRef, currentVersion: number | null, options: FetchOptions = {}): Promise<VerifiedModel | null> {
  const prefetched = currentVersion === null ? takePrefetched(ref) : null;
  if (prefetched) {
    try {
      const model = await prefetched;
      options.onAssignment?.(model?.rollout ?? null);
      return model;
    } catch {
      // Checked again below: what failed then (a network error, a file being replaced) may pass now, or says why not.
    }
  }
  return checkChannel(ref, currentVersion, options);
}

/** First checks of channels started before the app asked (prefetchChannelModel), by channel; each is taken once. */
const prefetches = new Map<string, Promise<VerifiedModel | null>>();
const channelKey = (ref: ChannelRef) => `${ref.project}/${ref.model}/${ref.channel}`;

function takePrefetched(ref: ChannelRef): Promise<VerifiedModel | null> | null {
  const prefetched = prefetches.get(channelKey(ref)) ?? null;
  prefetches.delete(channelKey(ref));
  return prefetched;
}

/**
 * Starts the channel's first check now, on a device that has no model of it yet (a first visit), while the app itself
 * is still starting: the app's first fetchChannelModel of that channel takes the result (downloaded and verified the
 * same way) instead of starting over. Nothing is remembered: that happens once the model runs. Returns the check, or
 * null when none started (one is under way, or the device has the channel's model).
 */
export async function prefetchChannelModel(ref: ChannelRef, deviceId: Promise<string | null>, options: { firstVisit?: boolean } = {}): Promise<Promise<VerifiedModel | null> | null> {
  if (prefetches.has(channelKey(ref))) return null;
  // A device that has this channel's model starts with it. A first visit has none, nor anything cached: neither is
  // looked for (the device's storage can take 100 ms to open on a first visit).
  if (!options.firstVisit && (await readValue<StoredModel>(storedKey(ref)))) return null;
  const check = checkChannel(ref, null, { deviceId, firstVisit: options.firstVisit });
  check.catch(() => {}); // the app's own check reports what failed
  prefetches.set(channelKey(ref), check);
  return check;
}

async function checkChannel(ref: ChannelRef, currentVersion: number | null, options: FetchOptions): Promise<VerifiedModel | null> {
  let key = await hubKeys(false);
  let refreshed = false;
  // Keys are rotated and retired: an envelope naming a key this device does not know sends it to the hub (never the
  // CDN) for the current set, once per check.
  const keysFor = async (text: string) => {
    if (!trusts(key, text) && !refreshed) {
      key = await hubKeys(true);
      refreshed = true;
    }
    return key;
  };
  const pointerUrl = new URL(cdnUrl(key.cdnBaseUrl, channelPointerKey(ref.project, ref.model, ref.channel)), location.href).href;
  // The model this device trusts now is read while the pointer (and a new version) downloads.
  const trustedRead = readValue<StoredModel>(storedKey(ref));
  trustedRead.catch(() => {}); // awaited below, unless the pointer fails first
  const pointerText = takeStartText(pointerUrl) ?? (await fetchPointer(ref, pointerUrl));
  const pointer = await readChannelPointer(pointerText, (await keysFor(pointerText)).keys, ref);
  // The installation's id decides the group only in a canary: without one, nothing waits for the device's database.
  const deviceId = pointer.candidate ? ((await options.deviceId) ?? null) : null;
  const { group, target, assignment } = pointerTarget(pointer, deviceId);
  options.onAssignment?.(assignment);
  const trustedPointerOf = (trusted: StoredModel | undefined) => (trusted ? channelPointerSchema.parse(JSON.parse(envelopeOf(trusted.pointer)!.payload)) : null);
  const replayedOver = (trusted: StoredModel | undefined) => {
    const trustedMovedAt = trustedPointerOf(trusted)?.movedAt ?? null;
    return trustedMovedAt !== null && Date.parse(pointer.movedAt) < Date.parse(trustedMovedAt) ? trustedMovedAt : null;
  };
  if (target.version === currentVersion) {
    // The same model under a newer pointer (signed anew by a key rotation, a canary started or ended around this
    // device, the canary it ran promoted to all): keep the new pointer, so the cached model still verifies offline,
    // against the part of the pointer that names it, once an old key is retired.
    const trusted = await trustedRead;
    if (trusted && trusted.pointer !== pointerText && !replayedOver(trusted) && (await sha256Hex(new TextEncoder().encode(trusted.manifest))) === target.manifestSha256) {
      await writeValue(storedKey(ref), { ...trusted, pointer: pointerText, group, deviceId });
    }
    return null;
  }

  const manifestUrl = new URL(target.manifestPath, pointerUrl).href;
  const download = (async () => {
    const manifestText = takeStartText(manifestUrl) ?? (await fetchManifest(manifestUrl, target.version));
    const manifest = await readModelManifest(manifestText, (await keysFor(manifestText)).keys, target);
    return assemble(ref, manifest, { pointer: pointerText, manifestUrl, manifest: manifestText, group, deviceId }, assignment, options.firstVisit ? 'network' : 'cache, else network');
  })();
  download.catch(() => {}); // a replayed pointer is refused first
  // A validly signed pointer older than the trusted one would roll the device back: refused before the model is used.
  const replayedAfter = replayedOver(await trustedRead);
  if (replayedAfter) {
    throw new ModelRefused(`channel pointer for v${pointer.version} was moved at ${pointer.movedAt}, before the one this device has (${replayedAfter}): an old pointer replayed`);
  }
  return download;
}

async function fetchPointer(ref: ChannelRef, pointerUrl: string): Promise<string> {
  // The pointer has a short max-age: revalidate so a promotion shows at once.
  const response = await fetch(pointerUrl, { cache: 'no-cache' });
  if (response.status === 404) throw new NoModelYet(`${ref.project}/${ref.model} has no ${ref.channel} model yet: promote a version to ${ref.channel} in the hub`);
  if (!response.ok) throw new Error(`channel pointer: HTTP ${response.status}`);
  return response.text();
}

async function fetchManifest(manifestUrl: string, version: number): Promise<string> {
  const response = await fetch(manifestUrl);
  if (!response.ok) throw new ModelRefused(`manifest of v${version}: HTTP ${response.status}`);
  return response.text();
}
