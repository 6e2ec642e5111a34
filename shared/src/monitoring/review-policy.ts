/**
 * Which predictions people are asked to review, and with what probability: policy `uncertainty-poisson/v1`.
 * Each event gets, once, when its monitor processes it, an inclusion probability
 *   π_i = clip(r · (ε + (1 − ε) · u_i / ū), r·ε, 1)
 * (r = review rate, ε = uniform share, u_i = 1 − calibrated top-1 probability, ū = the reference's mean uncertainty)
 * and a draw h_i ∈ [0, 1) made deterministically from a project secret and the prediction id. It is queued iff
 * h_i < π_i (Poisson sampling: independent Bernoulli(π_i) per event, Särndal et al. 1992 §3.5), and its component is
 * `uniform` iff h_i < r·ε: those form a uniform Bernoulli(r·ε) sample of every event whatever its confidence, so
 * every confidence level is reviewed; the rest lean towards the doubtful ones. Because π_i is known for every label,
 * accuracy from labels is estimated without the selection's bias (label-estimates.ts).
 *
 * Pure: the keyed hash itself lives where the secret does (the hub); this file turns its digest into h_i.
 */

export const REVIEW_POLICY = 'uncertainty-poisson/v1';
export const REVIEW_COMPONENTS = ['uniform', 'uncertainty'] as const;
export type ReviewComponent = (typeof REVIEW_COMPONENTS)[number];

/** The issue asks for at least 10% uniformly random predictions in the queue. */
export const MIN_UNIFORM_SHARE = 0.1;

export interface ReviewPolicySettings {
  /** r: expected share of events queued for review when uncertainty is as in the reference, (0, 1]. */
  reviewRate: number;
  /** ε: share of r drawn uniformly, whatever the confidence, [MIN_UNIFORM_SHARE, 1]. */
  uniformShare: number;
}

/** ε = 0.35 kept ~1.4 points more interval coverage than 0.2 in the design's simulation; r = 5% as the goal. */
export const DEFAULT_REVIEW_SETTINGS: ReviewPolicySettings = { reviewRate: 0.05, uniformShare: 0.35 };

/** In the labeling queue, every k-th slot is the oldest uniform item (the others: most uncertain first). */
export const UNIFORM_SLOT_EVERY = 3;

export function checkReviewSettings(settings: ReviewPolicySettings): void {
  const { reviewRate, uniformShare } = settings;
  if (!(reviewRate > 0 && reviewRate <= 1)) throw new RangeError(`reviewRate must be in (0, 1], got ${reviewRate}`);
  if (!(uniformShare >= MIN_UNIFORM_SHARE && uniformShare <= 1)) throw new RangeError(`uniformShare must be in [${MIN_UNIFORM_SHARE}, 1], got ${uniformShare}`);
}

/**
 * π_i = clip(r · (ε + (1 − ε) · u / ū), r·ε, 1). u outside [0, 1] (rounding) is clamped; a reference with ū ≤ 0 (a
 * model certain of everything) gives the uniform rate r to every event. Always in [r·ε, 1], so > 0. O(1).
 */
export function inclusionProbability(uncertainty: number, meanUncertainty: number, settings: ReviewPolicySettings): number {
  checkReviewSettings(settings);
  if (!Number.isFinite(uncertainty)) throw new RangeError(`uncertainty must be a number in [0, 1], got ${uncertainty}`);
  const { reviewRate: r, uniformShare: eps } = settings;
  const u = Math.min(1, Math.max(0, uncertainty));
  const relative = meanUncertainty > 0 && Number.isFinite(meanUncertainty) ? u / meanUncertainty : 1;
  return Math.min(1, Math.max(r * eps, r * (eps + (1 - eps) * relative)));
}

/**
 * h ∈ [0, 1) from a keyed digest (HMAC-SHA256(secret, prediction id) in the hub): its first 52 bits over 2^52, so every
 * double it gives is exact and the draws are uniform to 2^-52. Needs ≥ 7 bytes.
 */
export function reviewDrawFromDigest(digest: Uint8Array): number {
  if (digest.length < 7) throw new RangeError(`digest must hold at least 7 bytes, got ${digest.length}`);
  let high = 0; // first 4 bytes: bits 51..20
  for (let i = 0; i < 4; i++) high = high * 256 + digest[i]!;
  const low = ((digest[4]! << 12) | (digest[5]! << 4) | (digest[6]! >> 4)) >>> 0; // next 20 bits
  return (high * 2 ** 20 + low) / 2 ** 52;
}

export interface ReviewDecision {
  selected: boolean;
  /** Set when selected: which part of the policy chose it. */
  component: ReviewComponent | null;
  inclusionProbability: number;
}

/** Selected iff h < π; `uniform` iff h < r·ε (≤ π always, so a uniform pick is always selected). O(1). */
export function decideReview(uncertainty: number, draw: number, meanUncertainty: number, settings: ReviewPolicySettings): ReviewDecision {
  if (!(draw >= 0 && draw < 1)) throw new RangeError(`draw must be in [0, 1), got ${draw}`);
  const pi = inclusionProbability(uncertainty, meanUncertainty, settings);
  const selected = draw < pi;
  return { selected, component: !selected ? null : draw < settings.reviewRate * settings.uniformShare ? 'uniform' : 'uncertainty', inclusionProbability: pi };
}

/**
 * The queue's order: most uncertain first, and every `every`-th slot (3rd, 6th, ...) the oldest uniform item not shown
 * yet, so uniform picks are labeled at a steady share however many doubtful ones wait. `byUncertainty`: candidates
 * sorted by descending uncertainty; `oldestUniform`: uniform candidates, oldest first (they may overlap: each item is
 * placed once). When one list runs out the other fills the slots. O(limit + lengths).
 */
export function interleaveReviews<T extends { id: string }>(byUncertainty: readonly T[], oldestUniform: readonly T[], limit: number, every = UNIFORM_SLOT_EVERY): T[] {
  if (!(every >= 1 && Number.isInteger(every))) throw new RangeError(`every must be a positive integer, got ${every}`);
  const out: T[] = [];
  const placed = new Set<string>();
  let u = 0;
  let o = 0;
  const next = (list: readonly T[], at: number): [T | undefined, number] => {
    while (at < list.length && placed.has(list[at]!.id)) at++;
    return [list[at], at + 1];
  };
  while (out.length < limit) {
    const uniformSlot = (out.length + 1) % every === 0;
    let item: T | undefined;
    if (uniformSlot) [item, o] = next(oldestUniform, o);
    if (!item) [item, u] = next(byUncertainty, u);
    if (!item) [item, o] = next(oldestUniform, o);
    if (!item) break;
    placed.add(item.id);
    out.push(item);
  }
  return out;
}
