/**
 * People's reviews of predictions, chosen by the policy `margin-focus-poisson/v2` (shared review-policy.ts): which
 * predictions are queued (assignReviews, called by the monitor as it processes events), the order labelers see them in
 * (nextReviews), and accuracy estimated from their labels without the selection's bias (labelAccuracy).
 *
 * The draw h_i = HMAC-SHA256(secret, prediction id) (first 52 bits) is keyed by a per-project secret that no client
 * can compute: prediction ids are made on devices, and with a public hash a device could pick ids that are never (or
 * always) reviewed and so bias accuracy from labels; with the keyed hash, every id a device may pick is selected with
 * exactly its π. The secret is derived from the hub's active signing key (reviewDrawSecret): an Ed25519 signature is
 * deterministic (RFC 8032), so signing a fixed, domain-separated message gives every hub process sharing the keys
 * directory the same 64 secret bytes, without another secret to store, and nothing readable in the database or by a
 * client. A key rotation changes the draws of events decided afterwards only; decisions are stored, so that is harmless
 * (an event left unselected and processed again after a rotation gets a second chance: negligible). Every process that
 * runs the monitor therefore needs the keys directory, as the API's processes do.
 */
import crypto from 'node:crypto';
import {
  type LabelEstimate,
  type LabelPopulation,
  type QueueResponse,
  REVIEW_POLICY,
  type ReviewComponent,
  type ReviewPolicySettings,
  type TopClasses,
  NO_FOCUS,
  type PcaBasis,
  type ReviewFocus,
  basisFrom,
  diverseOrder,
  embeddingFromBytes,
  projectRows,
  UNIFORM_SLOT_EVERY,
  decideReviewV2,
  meanMarginUncertainty,
  hajekAccuracy,
  interleaveReviews,
  labeledProbability,
  naiveLabelAccuracy,
  parseReviewPolicyLabel,
  ppiAccuracy,
  responseRates,
  reviewDrawFromDigest,
  reviewPolicyLabel,
} from '@edgeloop/shared';
import type { Database } from '../db/database';
import type { Caller, HubDeps } from '../deps';
import { badRequest } from '../errors';
import { loadReferenceProfile } from '../monitoring/reference-profile.service';
import { getProject } from '../projects/project.service';
import type { KeyRing } from '../registry/key-ring';
import * as assignments from './review-assignment.repository';

/** A labeler who was shown items keeps them this long before another labeler may be shown them. */
export const REVIEW_LEASE_MS = 30 * 60_000;
/** Unlabeled this long after being queued: expired (recorded as non-response). */
export const REVIEW_EXPIRY_MS = 7 * 24 * 3_600_000;
export const MAX_NEXT_REVIEWS = 50;
/** At most this many prediction ids to choose among (the PWA keeps its latest 100). */
export const MAX_REVIEW_CANDIDATES = 500;

/** The per-project key of the review draws (see the module comment). */
export async function reviewDrawSecret(keys: KeyRing, projectId: string): Promise<Uint8Array> {
  const key = await keys.active();
  return new Uint8Array(crypto.sign(null, Buffer.from(`edgeloop.review-draw/v1\n${projectId}`, 'utf8'), key.privateKey));
}

/** h ∈ [0, 1) for a prediction: HMAC-SHA256(secret, lower-case prediction id), first 52 bits. */
export function reviewDraw(secret: Uint8Array | string, predictionId: string): number {
  return reviewDrawFromDigest(crypto.createHmac('sha256', secret).update(predictionId.toLowerCase()).digest());
}

export interface AssignReviewsInput {
  projectId: string;
  modelVersionId: string;
  settings: ReviewPolicySettings;
  /** ū: the reference profile's mean uncertainty (1 − calibrated top-1 probability) on held-out data. */
  meanUncertainty: number;
  secret: Uint8Array | string;
  /** What the stream's open alerts implicate (shared reviewFocusFromAlerts); none: every weight 1. */
  focus?: ReviewFocus;
  /**
   * probabilities: the calibrated probabilities [K] the monitor computed; uncertainty: 1 − the calibrated probability
   * of the device's top-1 class, in [0, 1] (stored: label-based PPI reads 1 − it as the expected correctness);
   * predicted: that class; deviceKey: who sent it (the alert's contributors name devices by it).
   */
  events: { predictionId: string; probabilities: ArrayLike<number>; uncertainty: number; predicted: string; deviceKey: string }[];
}

/**
 * Decides, once per event, whether it is queued for review and with what probability (policy margin-focus-poisson/v2,
 * shared decideReviewV2), and stores the selected ones with π (a prediction already decided keeps its first
 * decision). Returns how many assignments were inserted now.
 */
export async function assignReviews(db: Database, input: AssignReviewsInput): Promise<number> {
  const policy = reviewPolicyLabel(input.settings);
  const focus = input.focus ?? NO_FOCUS;
  const meanMargin = meanMarginUncertainty(input.meanUncertainty);
  const rows: assignments.NewReviewAssignment[] = [];
  for (const event of input.events) {
    const decision = decideReviewV2(event, reviewDraw(input.secret, event.predictionId), meanMargin, focus, input.settings);
    if (!decision.selected) continue;
    rows.push({
      projectId: input.projectId,
      predictionId: event.predictionId,
      modelVersionId: input.modelVersionId,
      policy,
      component: decision.component!,
      inclusionProbability: decision.inclusionProbability,
      uncertainty: Math.min(1, Math.max(0, event.uncertainty)),
    });
  }
  return assignments.insertMany(db, rows);
}

/** One prediction to review, as the labeling view shows it. */
export interface NextReview {
  assignmentId: string;
  predictionId: string;
  component: ReviewComponent;
  model: string;
  version: number;
  label: string;
  confidence: number;
  top: TopClasses;
  /** When the device made the prediction (ISO 8601). */
  createdAt: string;
}

/**
 * The next predictions for the caller to label, in the policy's order (most uncertain first, spread by k-center on
 * their PCA-projected embeddings, every 3rd item the project's queue serves the oldest uniform pick, counted across
 * calls), marked shown to the caller. Items shown to
 * someone else come back after REVIEW_LEASE_MS unlabeled; items shown to the caller come back to it until labeled.
 * `predictionIds`: only among these (the PWA can show only the predictions it holds, so it takes only those).
 */
export async function nextReviews(
  deps: HubDeps,
  caller: Caller,
  input: { project: string; limit: number; predictionIds?: string[] },
): Promise<{ policy: string; reviews: NextReview[] }> {
  if (!(Number.isInteger(input.limit) && input.limit >= 1 && input.limit <= MAX_NEXT_REVIEWS)) throw badRequest(`limit: must be an integer from 1 to ${MAX_NEXT_REVIEWS}`);
  const project = await getProject(deps, input.project);
  const at = deps.now();
  // Read before the transaction (PGlite's one connection serves nothing outside an open transaction).
  const bases = await pcaBases(deps, project.id);
  const taken = await assignments.takeNext(
    deps.db,
    {
      projectId: project.id,
      shownTo: caller.name,
      at,
      leaseBefore: new Date(at.getTime() - REVIEW_LEASE_MS),
      limit: input.limit,
      among: input.predictionIds,
      pool: Math.min(MAX_DIVERSITY_POOL, Math.max(MIN_DIVERSITY_POOL, DIVERSITY_POOL * input.limit)),
    },
    (byUncertainty, oldestUniform, shownBefore) =>
      interleaveReviews(diverseOrder(byUncertainty, (row) => projected(bases, row), input.limit, (row) => row.uncertainty).map(keyed), oldestUniform.map(keyed), input.limit, UNIFORM_SLOT_EVERY, shownBefore).map(
        (r) => r.row,
      ),
  );
  return {
    policy: REVIEW_POLICY,
    reviews: taken.map((r) => ({
      assignmentId: r.assignmentId,
      predictionId: r.predictionId,
      component: r.component,
      model: r.model,
      version: r.version,
      label: r.label,
      confidence: r.confidence,
      top: r.top,
      createdAt: r.predictedAt.toISOString(),
    })),
  };
}

const keyed = (row: assignments.QueuedReview) => ({ id: row.assignmentId, row });

/**
 * The uncertainty part of a batch is chosen among the most doubtful (this many times `limit`, at least
 * MIN_DIVERSITY_POOL and at most MAX_DIVERSITY_POOL of them), spread by greedy k-center on their PCA-projected
 * embeddings with each distance weighted by the uncertainty (shared diverseOrder), so a batch is not near-copies of
 * one picture however many of them lead the queue.
 */
export const DIVERSITY_POOL = 4;
export const MIN_DIVERSITY_POOL = 200;
export const MAX_DIVERSITY_POOL = 500;
/** Versions whose profiles are read for one batch (the newest waiting ones; older ones keep the uncertainty order). */
const MAX_BATCH_VERSIONS = 4;

/** The PCA basis of each model version with assignments waiting and a ready reference profile. */
async function pcaBases(deps: HubDeps, projectId: string): Promise<Map<string, PcaBasis>> {
  const bases = new Map<string, PcaBasis>();
  for (const id of (await assignments.waitingVersions(deps.db, projectId)).slice(0, MAX_BATCH_VERSIONS)) {
    const profile = await loadReferenceProfile(deps, id);
    if (profile) bases.set(id, basisFrom(profile.arrays.pcaMean, profile.arrays.pcaAxes, profile.summary.embeddingSize));
  }
  return bases;
}

/** A candidate's embedding projected onto its version's basis [r]; null without a basis or with another size. */
function projected(bases: Map<string, PcaBasis>, row: assignments.QueuedReview): Float64Array | null {
  const basis = bases.get(row.modelVersionId);
  if (!basis) return null;
  const embedding = embeddingFromBytes(row.embedding);
  if (embedding.length !== basis.dimension) return null;
  return projectRows(basis, Float64Array.from(embedding), 1);
}

/** Expires what nobody labeled within REVIEW_EXPIRY_MS (housekeeping); returns how many. */
export function expireReviews(deps: HubDeps): Promise<number> {
  return assignments.expireBefore(deps.db, new Date(deps.now().getTime() - REVIEW_EXPIRY_MS));
}

export interface LabelAccuracy {
  policy: string;
  /** Labeled assignments with a label (labels given unasked are not in the estimates). */
  labels: number;
  /**
   * Labeled assignments whose latest answer is "none of these labels / unusable": not evaluable, so outside the
   * estimates (which are then accuracy among evaluable predictions), and shown beside them.
   */
  unusable: number;
  /** Of those, labels equal to the prediction. */
  confirmations: number;
  corrections: number;
  /** Assignments queued or shown, not labeled yet; and expired ones (nobody answered). */
  pending: number;
  expired: number;
  /** The labeled mean: biased towards doubtful predictions, shown for contrast. */
  naive: { estimate: number; interval: [number, number] } | null;
  /** Hájek inverse-probability-weighted accuracy, 95% Wilson interval on the design-effect size. */
  ipw: { estimate: number; interval: [number, number]; effectiveSize: number } | null;
  /** Prediction-powered: the label-free estimate rectified by the labels; null without `population` or with < 2 labels. */
  ppi: { estimate: number; interval: [number, number]; lambda: number } | null;
}

/**
 * Accuracy of a model version (one channel, or all) from people's labels of its review assignments. While the queue is
 * behind, the labeled ones are not all the queued ones (doubtful first): each label is weighed by 1/π', the
 * probability of being selected and then labeled (shared labeledProbability), with response rates per component
 * within its stratum of uncertainty. `population` (events the policy decided and their Σ of calibrated correctness,
 * from the monitor) enables PPI.
 */
export async function labelAccuracy(
  deps: Pick<HubDeps, 'db'>,
  input: { projectId: string; modelVersionId: string; channel?: string; population?: LabelPopulation },
): Promise<LabelAccuracy> {
  const { labeled, unusable, response, counts } = await assignments.labeledForEstimates(deps.db, input);
  const items = labeled.map((row) => ({
    correct: row.correct,
    inclusionProbability: responseAdjusted(row, response),
    expectedCorrect: 1 - row.uncertainty,
  }));
  const confirmations = items.filter((item) => item.correct).length;
  const interval = (e: LabelEstimate | null) => (e ? { estimate: e.estimate, interval: e.interval } : null);
  const hajek = hajekAccuracy(items);
  const ppi = input.population && input.population.events >= items.length ? ppiAccuracy(items, input.population) : null;
  return {
    policy: REVIEW_POLICY,
    labels: items.length,
    unusable,
    confirmations,
    corrections: items.length - confirmations,
    pending: counts.queued + counts.shown,
    expired: counts.expired,
    naive: interval(naiveLabelAccuracy(items)),
    ipw: hajek ? { estimate: hajek.estimate, interval: hajek.interval, effectiveSize: hajek.effectiveSize } : null,
    ppi: ppi ? { estimate: ppi.estimate, interval: ppi.interval, lambda: ppi.lambda } : null,
  };
}

/** π' of a labeled assignment: selected with π, then labeled at its component's response rate (shared labeledProbability). */
function responseAdjusted(row: assignments.LabeledAssignment, response: QueueResponse): number {
  const rho = responseRates(response, row.uncertainty);
  const settings = parseReviewPolicyLabel(row.policy);
  // A policy this hub cannot read (none is written today): the label's own component's response rate alone.
  if (!settings) return row.inclusionProbability * (row.component === 'uniform' ? rho.uniform : rho.uncertainty);
  const uniformProbability = Math.min(row.inclusionProbability, settings.reviewRate * settings.uniformShare);
  // 0 only when equal uncertainties straddle two strata and the label's own rate is read from the empty one.
  return labeledProbability(row.inclusionProbability, uniformProbability, rho.uniform, rho.uncertainty) || row.inclusionProbability;
}
