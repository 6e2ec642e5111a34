/**
 * Images of reviewed predictions on their way into the working set. An image a device sends with its prediction
 * (collected by the project's setting: source `device`; shared by the labeler: `review`) becomes a pending review item
 * with the sender's label as a vote. Project rules accept it (shared labelingSettingsSchema: `agreement` distinct
 * labelers giving the same label, or one label from a trusted labeler, by token name); a person accepts (with a label:
 * relabelling is accepting with another one) or rejects it in the admin's review inbox. Accepted, it joins the working
 * set (datasets' addImages) with source `review` and a split from its sha256 (80/10/10); rejected, it never does.
 * "None of these labels / unusable" is a vote with no label: it never accepts anything by rule.
 */
import {
  type AcceptanceRule,
  type InboxDecision,
  type LabelingSettings,
  type ReviewItemSource,
  type ReviewItemStatus,
  type TopClasses,
  labelingSettingsSchema,
  objectKeyForSha256,
  splitForSha256,
} from '@edgeloop/shared';
import type { Database } from '../db/database';
import type { Caller, HubDeps } from '../deps';
import { badRequest, conflict, notFound } from '../errors';
import * as items from '../datasets/item.repository';
import type { Project } from '../projects/project.repository';
import { assertKnownLabel, getProject } from '../projects/project.service';
import * as feedback from './feedback.repository';
import * as settingsRepo from './labeling-settings.repository';
import * as reviewItems from './review-item.repository';

/** Presigned image URLs in the inbox and queue stay valid this long. */
export const IMAGE_URL_SECONDS = 10 * 60;
export const MAX_INBOX_PAGE = 100;
export const MAX_LABELING_QUEUE = 50;

// --- Settings -----------------------------------------------------------------------------------------------------

export interface LabelingSettingsView extends LabelingSettings {
  updatedBy: string | null;
  updatedAt: string | null;
}

export async function getLabelingSettings(deps: HubDeps, input: { project: string }): Promise<LabelingSettingsView> {
  const project = await getProject(deps, input.project);
  return view(await settingsRepo.settingsOf(deps.db, project.id));
}

/** Changes the fields given (acceptance as a whole when given); the rest keep their values. */
export async function setLabelingSettings(
  deps: HubDeps,
  caller: Caller,
  input: { project: string; collectReviewedImages?: boolean; acceptance?: LabelingSettings['acceptance'] },
): Promise<LabelingSettingsView> {
  const project = await getProject(deps, input.project);
  const current = await settingsRepo.settingsOf(deps.db, project.id);
  const next = labelingSettingsSchema.parse({
    collectReviewedImages: input.collectReviewedImages ?? current.collectReviewedImages,
    acceptance: input.acceptance ?? current.acceptance,
  });
  await settingsRepo.saveSettings(deps.db, project.id, next, { name: caller.name, at: deps.now() });
  return view(await settingsRepo.settingsOf(deps.db, project.id));
}

const view = (s: settingsRepo.StoredLabelingSettings): LabelingSettingsView => ({
  collectReviewedImages: s.collectReviewedImages,
  acceptance: { agreement: s.acceptance.agreement, trustedLabelers: [...s.acceptance.trustedLabelers] },
  updatedBy: s.updatedBy,
  updatedAt: s.updatedAt?.toISOString() ?? null,
});

// --- Receiving images and votes -----------------------------------------------------------------------------------

export interface ReviewItemOutcome {
  itemId: string;
  status: ReviewItemStatus;
  /** Set once accepted: the label it joined the working set with and the rule that accepted it. */
  label: string | null;
  rule: AcceptanceRule | null;
}

/**
 * An uploaded image of a prediction, its blob stored already: the project's pending item for it (made now, or the one
 * another upload made) gets the uploader's label as a vote, and the rules run. `source` `device` only while the
 * project collects images of reviewed predictions. Called by the upload's completion.
 */
export async function receiveReviewedImage(
  deps: HubDeps,
  caller: Caller,
  input: { project: Project; sha256: string; predictionId: string; source: ReviewItemSource; label: string },
): Promise<ReviewItemOutcome> {
  const { project } = input;
  const settings = await assertReviewedImageAllowed(deps, input);
  const at = deps.now();
  return deps.db.transaction(async (tx) => {
    const { row } = await reviewItems.findOrCreate(tx, { projectId: project.id, sha256: input.sha256, predictionId: input.predictionId, source: input.source, at });
    if (row.status !== 'pending') return outcome(row);
    await reviewItems.putVote(tx, { itemId: row.id, labeledBy: caller.name, label: input.label, at });
    return applyRules(tx, project.id, row, settings, at);
  });
}

/**
 * Checks an image of a prediction before anything is stored: a label of the project, a prediction of the project
 * (synced first), and `device` only while the project collects images. Answers the project's labeling settings.
 */
export async function assertReviewedImageAllowed(
  deps: HubDeps,
  input: { project: Project; predictionId: string; source: ReviewItemSource; label: string },
): Promise<LabelingSettings> {
  const { project } = input;
  assertKnownLabel(project, input.label);
  const settings = await settingsRepo.settingsOf(deps.db, project.id);
  if (input.source === 'device' && !settings.collectReviewedImages) {
    throw badRequest(`source: "device" is for images the project collects, and "${project.slug}" does not collect images of reviewed predictions (labeling settings); use "review" for an image the labeler shares`);
  }
  const known = await feedback.predictionIdsInProject(deps.db, project.id, [input.predictionId]);
  if (!known.length) throw badRequest(`predictionId: "${project.slug}" has no prediction ${input.predictionId}; sync the prediction first`);
  return settings;
}

/** Labels synced for predictions with a pending item are votes on its image (null label: unusable); the rules run. */
export async function votesFromCorrections(
  db: Database,
  projectId: string,
  labels: readonly { predictionId: string; label: string | null; labeledBy: string }[],
  at: Date,
): Promise<void> {
  const pending = await reviewItems.pendingOfPredictions(db, projectId, [...new Set(labels.map((l) => l.predictionId))]);
  if (!pending.length) return;
  const settings = await settingsRepo.settingsOf(db, projectId);
  for (const { id, predictionId } of pending) {
    for (const vote of labels.filter((l) => l.predictionId === predictionId)) await reviewItems.putVote(db, { itemId: id, labeledBy: vote.labeledBy, label: vote.label, at });
    const row = await reviewItems.findInProject(db, projectId, id);
    if (row) await applyRules(db, projectId, row, settings, at);
  }
}

/** A labeler's (or engineer's) label for a pending item from the inbox or the admin's queue; null = unusable. */
export async function voteOnItem(deps: HubDeps, caller: Caller, input: { project: string; itemId: string; label: string | null }): Promise<ReviewItemOutcome> {
  const project = await getProject(deps, input.project);
  if (input.label !== null) assertKnownLabel(project, input.label);
  const at = deps.now();
  return deps.db.transaction(async (tx) => {
    const row = await reviewItems.findInProject(tx, project.id, input.itemId);
    if (!row) throw notFound(`itemId: "${project.slug}" has no review item ${input.itemId}`);
    if (row.status !== 'pending') throw conflict(`itemId: review item ${row.id} is ${row.status} already; votes are taken while it is pending`);
    await reviewItems.putVote(tx, { itemId: row.id, labeledBy: caller.name, label: input.label, at });
    return applyRules(tx, project.id, row, await settingsRepo.settingsOf(tx, project.id), at);
  });
}

/**
 * The project's rules on an item's votes: one label from a trusted labeler accepts it ('trusted-labeler', the
 * earliest such vote); otherwise `agreement` distinct labelers giving the same label accept it ('agreement', decided
 * by those labelers). Unusable votes accept nothing. Accepting also adds it to the working set.
 */
export function ruleDecision(
  votes: readonly reviewItems.Vote[],
  acceptance: LabelingSettings['acceptance'],
): { label: string; rule: Exclude<AcceptanceRule, 'person'>; by: string } | null {
  const trusted = votes.find((v) => v.label !== null && acceptance.trustedLabelers.includes(v.labeledBy));
  if (trusted) return { label: trusted.label!, rule: 'trusted-labeler', by: trusted.labeledBy };
  if (acceptance.agreement === null) return null;
  const byLabel = new Map<string, string[]>();
  for (const v of votes) if (v.label !== null) byLabel.set(v.label, [...(byLabel.get(v.label) ?? []), v.labeledBy]);
  const agreed = [...byLabel].filter(([, who]) => who.length >= acceptance.agreement!).sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]))[0];
  return agreed ? { label: agreed[0], rule: 'agreement', by: [...agreed[1]].sort().join(', ') } : null;
}

async function applyRules(db: Database, projectId: string, row: reviewItems.ReviewItemRow, settings: LabelingSettings, at: Date): Promise<ReviewItemOutcome> {
  const votes = (await reviewItems.votesOf(db, [row.id])).get(row.id)!;
  const decision = ruleDecision(votes, settings.acceptance);
  if (!decision) return outcome(row);
  const accepted = await acceptItem(db, { projectId, id: row.id, label: decision.label, rule: decision.rule, by: decision.by, at });
  return outcome(accepted ?? row);
}

/** pending -> accepted and into the working set, in the caller's transaction; null when it was not pending. */
async function acceptItem(db: Database, input: { projectId: string; id: string; label: string; rule: AcceptanceRule; by: string; at: Date }): Promise<reviewItems.ReviewItemRow | null> {
  const accepted = await reviewItems.accept(db, input);
  if (!accepted) return null;
  // An image already in the working set (imported or uploaded by hand) keeps its item as it is.
  await items.addImages(db, [], [{ projectId: input.projectId, sha256: accepted.sha256, label: input.label, split: splitForSha256(accepted.sha256), source: 'review', createdAt: input.at, updatedAt: input.at }]);
  return accepted;
}

const outcome = (row: reviewItems.ReviewItemRow): ReviewItemOutcome => ({ itemId: row.id, status: row.status, label: row.status === 'accepted' ? row.label : null, rule: row.decisionRule });

// --- The inbox ----------------------------------------------------------------------------------------------------

/** A person's decision in the review inbox: accept with a label (another than the votes' is a relabel) or reject. */
export async function decideItem(
  deps: HubDeps,
  caller: Caller,
  input: { project: string; itemId: string; decision: InboxDecision; label?: string },
): Promise<ReviewItemOutcome> {
  const project = await getProject(deps, input.project);
  if (input.decision === 'accept') {
    if (input.label === undefined) throw badRequest('label: required to accept (the label the image joins the working set with)');
    assertKnownLabel(project, input.label);
  }
  const at = deps.now();
  return deps.db.transaction(async (tx) => {
    const row = await reviewItems.findInProject(tx, project.id, input.itemId);
    if (!row) throw notFound(`itemId: "${project.slug}" has no review item ${input.itemId}`);
    if (row.status !== 'pending') throw conflict(`itemId: review item ${row.id} is ${row.status} already (by ${row.decidedBy ?? 'nobody'})`);
    const done =
      input.decision === 'accept'
        ? await acceptItem(tx, { projectId: project.id, id: row.id, label: input.label!, rule: 'person', by: caller.name, at })
        : await reviewItems.reject(tx, { projectId: project.id, id: row.id, by: caller.name, at });
    if (!done) throw conflict(`itemId: review item ${row.id} was decided meanwhile`);
    return outcome(done);
  });
}

export interface InboxItem {
  id: string;
  sha256: string;
  predictionId: string | null;
  source: ReviewItemSource;
  status: ReviewItemStatus;
  label: string | null;
  rule: AcceptanceRule | null;
  decidedBy: string | null;
  decidedAt: string | null;
  createdAt: string;
  image: { url: string; contentType: string; width: number; height: number };
  predicted: { label: string; confidence: number; top: TopClasses } | null;
  votes: { labeledBy: string; label: string | null; at: string }[];
}

export interface InboxPage {
  items: InboxItem[];
  /** Pass as `before` for the next page; null at the end. */
  next: { createdAt: string; id: string } | null;
  counts: Record<ReviewItemStatus, number>;
}

/** The project's review items newest first (optionally one status), each with a presigned image URL and its votes. */
export async function reviewInbox(
  deps: HubDeps,
  input: { project: string; status?: ReviewItemStatus; before?: { createdAt: string; id: string }; limit: number },
): Promise<InboxPage> {
  const project = await getProject(deps, input.project);
  const rows = await reviewItems.inboxPage(deps.db, {
    projectId: project.id,
    status: input.status ?? null,
    before: input.before ? { createdAt: new Date(input.before.createdAt), id: input.before.id } : null,
    limit: input.limit,
  });
  const last = rows[rows.length - 1];
  return {
    items: await inboxItems(deps, rows),
    next: rows.length === input.limit && last ? { createdAt: last.createdAt.toISOString(), id: last.id } : null,
    counts: await reviewItems.countsOfProject(deps.db, project.id),
  };
}

/**
 * The admin's labeling queue: pending items (images the hub holds of reviewed predictions) the caller has not voted
 * on yet, oldest first, so each gets the votes its rule needs.
 */
export async function labelingQueue(deps: HubDeps, caller: Caller, input: { project: string; limit: number }): Promise<{ items: InboxItem[] }> {
  const project = await getProject(deps, input.project);
  const out: InboxItem[] = [];
  let before: { createdAt: Date; id: string } | null = null;
  // Oldest-first pages read until `limit` unvoted ones are found (bounded: at most 20 pages).
  for (let page = 0; page < 20 && out.length < input.limit; page++) {
    const rows = await reviewItems.inboxPage(deps.db, { projectId: project.id, status: 'pending', before, limit: MAX_INBOX_PAGE, oldestFirst: true });
    // Votes first, so only the items kept get an image URL.
    const votes = await reviewItems.votesOf(deps.db, rows.map((r) => r.id));
    const unvoted = rows.filter((r) => !votes.get(r.id)!.some((v) => v.labeledBy === caller.name));
    out.push(...(await inboxItems(deps, unvoted.slice(0, input.limit - out.length), votes)));
    const last = rows[rows.length - 1];
    if (rows.length < MAX_INBOX_PAGE || !last) break;
    before = { createdAt: last.createdAt, id: last.id };
  }
  return { items: out };
}

/** The rows as the inbox shows them, each with a presigned image URL; `votes` when the caller read them already. */
async function inboxItems(deps: HubDeps, rows: reviewItems.InboxRow[], known?: Map<string, reviewItems.Vote[]>): Promise<InboxItem[]> {
  const votes = known ?? (await reviewItems.votesOf(deps.db, rows.map((r) => r.id)));
  return Promise.all(
    rows.map(async (r) => ({
      id: r.id,
      sha256: r.sha256,
      predictionId: r.predictionId,
      source: r.source,
      status: r.status,
      label: r.label,
      rule: r.decisionRule,
      decidedBy: r.decidedBy,
      decidedAt: r.decidedAt?.toISOString() ?? null,
      createdAt: r.createdAt.toISOString(),
      image: { url: await imageUrlOf(deps, r.sha256), contentType: r.contentType, width: r.width, height: r.height },
      predicted: r.predicted ? { label: r.predicted.label, confidence: r.predicted.confidence, top: r.predicted.top.map((t) => ({ label: t.label, probability: t.probability })) } : null,
      votes: votes.get(r.id)!.map((v) => ({ labeledBy: v.labeledBy, label: v.label, at: v.at.toISOString() })),
    })),
  );
}

/** A presigned GET of a stored image, valid IMAGE_URL_SECONDS: the one signer of image links (the inbox, the data grid). */
export const imageUrlOf = (deps: HubDeps, sha256: string) => deps.store.presignGet(objectKeyForSha256(sha256), { expiresInSeconds: IMAGE_URL_SECONDS });

/** A presigned GET of a review item's image (the caller may see the project: checked by the router). */
export async function reviewItemImage(deps: HubDeps, input: { project: string; itemId: string }): Promise<{ url: string; expiresAt: string }> {
  const project = await getProject(deps, input.project);
  const row = await reviewItems.findInProject(deps.db, project.id, input.itemId);
  if (!row) throw notFound(`itemId: "${project.slug}" has no review item ${input.itemId}`);
  return { url: await imageUrlOf(deps, row.sha256), expiresAt: new Date(deps.now().getTime() + IMAGE_URL_SECONDS * 1000).toISOString() };
}
