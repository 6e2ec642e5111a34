/**
 * Staged rollout: which devices run a channel's candidate. A device's group comes from a stable hash of its own id
 * and the rollout (the candidate version), so the same device stays in the same group for the whole canary, and the
 * PWA and the hub compute the same thing.
 */

/** A number in [0, 1) fixed by the device's id and the rollout: 32-bit FNV-1a over the UTF-16 code units. */
export function rolloutBucket(deviceId: string, rollout: string): number {
  const text = `${rollout}\u0000${deviceId}`;
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash / 2 ** 32;
}

/** The rollout key of a candidate: the same for every device, different for each canary. */
export const rolloutKey = (project: string, model: string, channel: string, candidateVersion: number) => `${project}/${model}/${channel}/v${candidateVersion}`;

/** Whether the device runs the candidate: its bucket falls under the candidate's share. */
export const inCanary = (deviceId: string, rollout: string, share: number): boolean => rolloutBucket(deviceId, rollout) < share;
