/**
 * buildReferenceProfile: the reference profile of a model version from its head and the embeddings of its val and
 * test splits (design §1): calibration, confusion and mixes, PCA and the MMD reference, thresholds by simulation.
 */
import type { ProfileInput, ReferenceProfile } from './profile';

export function buildReferenceProfile(input: ProfileInput): ReferenceProfile {
  void input;
  throw new Error('buildReferenceProfile is not implemented yet');
}
