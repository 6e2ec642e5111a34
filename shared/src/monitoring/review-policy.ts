/**
 * Which predictions people are asked to review, and with what probability. Policy `margin-focus-poisson/v2` (below
 * the v1 functions, which stay for labels stored under v1 and for the bench) and its v1 predecessor
 * `uncertainty-poisson/v1`.
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

/** The policy new assignments are decided by (v2, see decideReviewV2). */
export const REVIEW_POLICY = 'margin-focus-poisson/v2';
export const REVIEW_POLICY_V1 = 'uncertainty-poisson/v1';
export const REVIEW_POLICIES = [REVIEW_POLICY_V1, REVIEW_POLICY] as const;
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

/**
 * The policy as each assignment stores it: its name and version and the settings it ran with
 * ("margin-focus-poisson/v2 r=0.05 e=0.35"), so estimates know every label's uniform probability r·ε even after the
 * project's settings change. `policy`: the version to name (v2 unless told).
 */
export function reviewPolicyLabel(settings: ReviewPolicySettings, policy: (typeof REVIEW_POLICIES)[number] = REVIEW_POLICY): string {
  checkReviewSettings(settings);
  return `${policy} r=${settings.reviewRate} e=${settings.uniformShare}`;
}

/** The settings a stored policy label (v1 or v2) names; null for another policy or a malformed label. */
export function parseReviewPolicyLabel(label: string): ReviewPolicySettings | null {
  const match = /^(?:uncertainty-poisson\/v1|margin-focus-poisson\/v2) r=([0-9.e-]+) e=([0-9.e-]+)$/.exec(label);
  if (!match) return null;
  const settings = { reviewRate: Number(match[1]), uniformShare: Number(match[2]) };
  try {
    checkReviewSettings(settings);
  } catch {
    return null;
  }
  return settings;
}

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
  return clippedProbability({ name: 'uncertainty', value: uncertainty, mean: meanUncertainty }, 1, settings);
}

/**
 * Both policies' π = clip(r · (ε + (1 − ε) · weight · x / x̄), r·ε, 1) for a doubt score x in [0, 1] (clamped) and its
 * reference mean x̄ (≤ 0: the plain rate r before weight). `score.name` names the score in errors.
 */
function clippedProbability(score: { name: string; value: number; mean: number }, weight: number, settings: ReviewPolicySettings): number {
  checkReviewSettings(settings);
  if (!Number.isFinite(score.value)) throw new RangeError(`${score.name} must be a number in [0, 1], got ${score.value}`);
  if (!(weight >= 0 && Number.isFinite(weight))) throw new RangeError(`weight must be a finite number >= 0, got ${weight}`);
  const { reviewRate: r, uniformShare: eps } = settings;
  const x = Math.min(1, Math.max(0, score.value));
  const relative = score.mean > 0 && Number.isFinite(score.mean) ? x / score.mean : 1;
  return Math.min(1, Math.max(r * eps, r * (eps + (1 - eps) * weight * relative)));
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
  checkDraw(draw);
  return decided(draw, inclusionProbability(uncertainty, meanUncertainty, settings), settings);
}

function checkDraw(draw: number): void {
  if (!(draw >= 0 && draw < 1)) throw new RangeError(`draw must be in [0, 1), got ${draw}`);
}

/** Both policies' draw: selected iff h < π; `uniform` iff h < r·ε. */
function decided(draw: number, pi: number, settings: ReviewPolicySettings): ReviewDecision {
  const selected = draw < pi;
  return { selected, component: !selected ? null : draw < settings.reviewRate * settings.uniformShare ? 'uniform' : 'uncertainty', inclusionProbability: pi };
}

/**
 * The queue's order: most uncertain first, and every `every`-th slot (3rd, 6th, ...) the oldest uniform item not shown
 * yet, so uniform picks are labeled at a steady share however many doubtful ones wait. `byUncertainty`: candidates
 * sorted by descending uncertainty; `oldestUniform`: uniform candidates, oldest first (they may overlap: each item is
 * placed once). `shownBefore`: how many slots the queue has served already, so that small pages (one item at a time)
 * keep the rhythm instead of restarting it and never reaching a uniform slot. When one list runs out the other fills
 * the slots. O(limit + lengths).
 */
export function interleaveReviews<T extends { id: string }>(
  byUncertainty: readonly T[],
  oldestUniform: readonly T[],
  limit: number,
  every = UNIFORM_SLOT_EVERY,
  shownBefore = 0,
): T[] {
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
    const uniformSlot = (shownBefore + out.length + 1) % every === 0;
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

/*
 * Policy `margin-focus-poisson/v2`. Each event gets, once, when its monitor processes it,
 *   π_i = clip(r · (ε + (1 − ε) · w_i · m_i / m̄), r·ε, 1)
 * where m_i = 1 − (p_(1) − p_(2)) is the margin uncertainty of its calibrated probabilities (the monitor's
 * softmax((e·W + b)/T)), m̄ its reference mean, and w_i the alert focus weight (reviewFocusWeight: events of the classes
 * and devices the stream's open alerts implicate count (1 + β) times the others, normalised so the expected weight
 * over the alert's window is 1). Selection and the uniform component are drawn exactly as in v1 (h_i < π_i;
 * `uniform` iff h_i < r·ε), so π_i is the exact probability the event had, whatever w_i and m̄ were: both are fixed
 * at the decision, and π_i is what the assignment stores.
 *
 * m̄ ≈ min(1, 2ū): the profile keeps ū = E[1 − p_(1)] only; 1 − p_(1) ≤ m ≤ 2(1 − p_(1)) (as p_(2) ≤ 1 − p_(1)), with
 * equality on the right when the rest of the mass is negligible, as it is for a confident classifier. m̄ only scales
 * the review rate (the expected share queued); it never touches the exactness of π.
 */

/** How much more likely (besides uncertainty) an event the open alert implicates is to be reviewed: w = 1 + β before normalising. */
export const FOCUS_BOOST = 2;

/** Margin uncertainty 1 − (p_(1) − p_(2)) of a probability vector [K] (K = 1: 0). O(K). */
export function marginUncertainty(probabilities: ArrayLike<number>): number {
  let first = -Infinity;
  let second = 0;
  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i]!;
    if (!Number.isFinite(p)) throw new RangeError(`probabilities.${i} must be a number, got ${p}`);
    if (p > first) {
      second = first === -Infinity ? 0 : first;
      first = p;
    } else if (p > second) second = p;
  }
  if (first === -Infinity) throw new RangeError('probabilities must hold at least one value');
  return Math.min(1, Math.max(0, 1 - (first - second)));
}

/** The reference mean margin uncertainty m̄ from the profile's mean top-1 uncertainty ū (see the v2 comment). */
export const meanMarginUncertainty = (meanUncertainty: number): number => Math.min(1, 2 * Math.max(0, meanUncertainty));

/**
 * What the stream's open alerts implicate: predicted classes that rose or fell, and over-represented devices, with the
 * share of the alert's window they covered (to normalise the weight). Empty (no open alert): every weight is 1.
 */
export interface ReviewFocus {
  classes: string[];
  devices: string[];
  /** Share of the alert window's events in an implicated class or from an implicated device, in [0, 1]. */
  share: number;
  boost: number;
}

export const NO_FOCUS: ReviewFocus = { classes: [], devices: [], share: 0, boost: FOCUS_BOOST };

/** The parts of an alert's explanation (shared AlertExplanation) the focus reads. */
export interface FocusSource {
  moved: { classMix: { classes: readonly { label: string; observed: number; change: string | null }[] } };
  contributors: { devices: readonly { key: string; windowShare: number }[] };
}

/**
 * The focus of a stream's open alerts: classes whose share of the window rose or fell (Benjamini-Hochberg at 5%) and
 * the devices over-represented in it. share = P(class ∈ C or device ∈ D) over the window, bounded above by the sum of
 * the two shares (a union bound: classes and devices are not independent) and by 1. O(K + devices) per alert.
 */
export function reviewFocusFromAlerts(alerts: readonly FocusSource[], boost = FOCUS_BOOST): ReviewFocus {
  const classes = new Map<string, number>();
  const devices = new Map<string, number>();
  for (const alert of alerts) {
    for (const c of alert.moved.classMix.classes) if (c.change !== null) classes.set(c.label, Math.max(classes.get(c.label) ?? 0, c.observed));
    for (const d of alert.contributors.devices) devices.set(d.key, Math.max(devices.get(d.key) ?? 0, d.windowShare));
  }
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  const share = Math.min(1, sum(classes) + sum(devices));
  return { classes: [...classes.keys()].sort(), devices: [...devices.keys()].sort(), share, boost };
}

/**
 * w_i: (1 + β) / (1 + β·s) for an implicated event, 1 / (1 + β·s) for the others, so that over a window like the
 * alert's (a share s implicated) the mean weight is 1 and the review rate stays r. 1 without focus. O(1) with sets.
 */
export function reviewFocusWeight(focus: ReviewFocus, predicted: string, deviceKey: string): number {
  if (!focus.classes.length && !focus.devices.length) return 1;
  const implicated = focus.classes.includes(predicted) || focus.devices.includes(deviceKey);
  return (implicated ? 1 + focus.boost : 1) / (1 + focus.boost * focus.share);
}

/** π_i of v2 = clip(r · (ε + (1 − ε) · w · m / m̄), r·ε, 1). m̄ ≤ 0 gives r to every event (before weight). O(1). */
export function inclusionProbabilityV2(margin: number, meanMargin: number, weight: number, settings: ReviewPolicySettings): number {
  return clippedProbability({ name: 'margin', value: margin, mean: meanMargin }, weight, settings);
}

export interface ReviewEventV2 {
  /** Calibrated probabilities [K]. */
  probabilities: ArrayLike<number>;
  /** The device's top-1 label and who sent it (for the focus). */
  predicted: string;
  deviceKey: string;
}

/** v2's decision: selected iff h < π; `uniform` iff h < r·ε, as in v1. O(K). */
export function decideReviewV2(event: ReviewEventV2, draw: number, meanMargin: number, focus: ReviewFocus, settings: ReviewPolicySettings): ReviewDecision {
  checkDraw(draw);
  const weight = reviewFocusWeight(focus, event.predicted, event.deviceKey);
  return decided(draw, inclusionProbabilityV2(marginUncertainty(event.probabilities), meanMargin, weight, settings), settings);
}
