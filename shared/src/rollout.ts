import type { ChannelPointer } from './model-manifest';

/**
 * Staged rollout: which devices run a channel's candidate. A device's group comes from a stable hash of its own id
 * and the rollout (the candidate version), so the same device stays in the same group for the whole canary, and the
 * PWA and the hub compute the same thing.
 */

/**
 * A number in [0, 1) fixed by the device's id and the rollout: 32-bit FNV-1a over the UTF-16 code units, then
 * murmur3's finaliser. FNV-1a alone barely moves the high bits for ids that differ in their last character
 * (device-1, device-2, ... land within a fraction of a percent of each other), so a share would take all or none of them.
 */
export function rolloutBucket(deviceId: string, rollout: string): number {
  const text = `${rollout}\u0000${deviceId}`;
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return (hash >>> 0) / 2 ** 32;
}

/** The rollout key of a candidate: the same for every device, different for each canary. */
export const rolloutKey = (project: string, model: string, channel: string, candidateVersion: number) => `${project}/${model}/${channel}/v${candidateVersion}`;

/** Whether the device runs the candidate: its bucket falls under the candidate's share. */
export const inCanary = (deviceId: string, rollout: string, share: number): boolean => rolloutBucket(deviceId, rollout) < share;

/**
 * A staged rollout named by the channel's pointer, as this device sees it: the version every other device runs, the
 * candidate a share of devices runs, and whether this device is one of them (a stable hash of its id decides).
 */
export interface RolloutAssignment {
  current: number;
  candidate: number;
  share: number;
  inCanary: boolean;
}

/** Which of the pointer's versions a device runs. */
export type RolloutGroup = 'production' | 'canary';

/**
 * The device's group for the pointer and what it runs: the candidate when its id's bucket is under the candidate's
 * share, else `version`. `target` reads like a pointer to that version, so the manifest is checked against it (its
 * sha256 and version) exactly as for the current one. Without an id (a device whose database is unavailable) it stays
 * on `version`.
 */
export function pointerTarget(pointer: ChannelPointer, deviceId: string | null): { group: RolloutGroup; target: ChannelPointer; assignment: RolloutAssignment | null } {
  const { candidate } = pointer;
  if (!candidate) return { group: 'production', target: pointer, assignment: null };
  const chosen = deviceId !== null && inCanary(deviceId, rolloutKey(pointer.project, pointer.model, pointer.channel, candidate.version), candidate.share);
  const assignment = { current: pointer.version, candidate: candidate.version, share: candidate.share, inCanary: chosen };
  if (!chosen) return { group: 'production', target: pointer, assignment };
  return { group: 'canary', target: { ...pointer, version: candidate.version, manifestPath: candidate.manifestPath, manifestSha256: candidate.manifestSha256 }, assignment };
}
