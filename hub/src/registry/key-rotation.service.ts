/**
 * Signing key rotation: a new key signs from now on, and every channel pointer is re-signed with it at once.
 * Pointers are small, mutable and short-lived (max-age 30 s), so re-signing them costs nothing; manifests are
 * immutable (their sha256 is in the pointer and in the file name), so they keep the key that signed them and that
 * key stays trusted until no channel points at a version it signed. Then `retire` stops publishing it.
 */
import type { HubDeps } from '../deps';
import { conflict } from '../errors';
import { channelPointerKey } from '@edgeloop/shared';
import * as channels from './channel.repository';
import { writeChannelPointer } from './channel.service';
import type { KeyInfo } from './key-ring';
import { envelopeKeyId, manifestKeyId } from './signing';

export interface ChannelSignature {
  modelId: string;
  project: string;
  model: string;
  channel: string;
  version: number;
  /** The key id of the published pointer's envelope (null when the pointer file is missing or unreadable). */
  pointerKeyId: string | null;
  /** The key id of the manifest's envelope the channel points to. */
  manifestKeyId: string | null;
  /** A running canary's candidate and the key id of its manifest's envelope (devices in the canary verify it too). */
  candidate: { version: number; manifestKeyId: string | null } | null;
}

/** Which key signed each channel's published pointer and the manifest it points to. */
export async function channelSignatures(deps: HubDeps): Promise<ChannelSignature[]> {
  const rows = await channels.everyChannelWithVersion(deps.db);
  return Promise.all(
    rows.map(async (row) => ({
      modelId: row.modelId,
      project: row.project,
      model: row.model,
      channel: row.channel,
      version: row.version,
      pointerKeyId: await envelopeKeyId(deps, channelPointerKey(row.project, row.model, row.channel)),
      manifestKeyId: await manifestKeyId(deps, row.manifestKey),
      candidate: row.candidate ? { version: row.candidate.version, manifestKeyId: await manifestKeyId(deps, row.candidate.manifestKey) } : null,
    })),
  );
}

/**
 * Re-signs the pointer of every channel not yet signed with the active key (all of them with `all`), from the
 * channel's committed row, under the channel's lock, so a concurrent promotion writes after (channel.service).
 */
export async function resignChannelPointers(deps: HubDeps, options: { all?: boolean } = {}): Promise<ChannelSignature[]> {
  const active = await deps.keys.active();
  const resigned: ChannelSignature[] = [];
  for (const signature of await channelSignatures(deps)) {
    if (!options.all && signature.pointerKeyId === active.id) continue;
    await writeChannelPointer(deps, signature, signature.modelId);
    resigned.push({ ...signature, pointerKeyId: active.id });
  }
  if (resigned.length) deps.log.info(`re-signed ${resigned.length} channel pointers with key ${active.id}`);
  return resigned;
}

/** A new active key; channel pointers are re-signed with it. Old manifests verify with the old key, still trusted. */
export async function rotateSigningKey(deps: HubDeps): Promise<{ key: KeyInfo; resigned: ChannelSignature[] }> {
  const key = await deps.keys.rotate();
  return { key, resigned: await resignChannelPointers(deps) };
}

const describe = (s: ChannelSignature) => `${s.project}/${s.model} ${s.channel} -> v${s.version}${s.candidate ? ` (canary v${s.candidate.version})` : ''}`;

/**
 * Stops trusting a rotated-out key. Pointers it signed are re-signed with the active key first. A channel that
 * points at a version whose manifest it signed, or runs a canary of one, would be refused by devices, so that is refused unless `force`
 * (promote a version signed with the active key first). Returns the channels left that devices will refuse.
 */
export async function retireSigningKey(deps: HubDeps, keyId: string, options: { force?: boolean } = {}): Promise<{ key: KeyInfo; broken: ChannelSignature[]; resigned: ChannelSignature[] }> {
  const known = (await deps.keys.list()).find((k) => k.id === keyId);
  // An unknown key or the active one: the key ring refuses it, naming the keys there are.
  if (!known || known.state === 'active') return { key: await deps.keys.retire(keyId), broken: [], resigned: [] };
  // Retired already: nothing to check or change (the channels it signed were dealt with when it was retired).
  if (known.state === 'retired') return { key: known, broken: [], resigned: [] };
  const resigned = await resignChannelPointers(deps);
  const broken = (await channelSignatures(deps)).filter((s) => s.manifestKeyId === keyId || s.candidate?.manifestKeyId === keyId);
  if (broken.length && !options.force) {
    throw conflict(
      `key ${keyId} signed the manifests these channels point to, so devices would refuse them once it is retired: ${broken.map(describe).join(', ')}. ` +
        'Promote versions published with the active key first, or retire with --force.',
    );
  }
  const key = await deps.keys.retire(keyId);
  for (const s of broken) deps.log.warn(`${describe(s)}: its manifest is signed with retired key ${keyId}; devices will refuse it`);
  return { key, broken, resigned };
}
