/**
 * The channels and channel_events tables: where each channel of a model points, and every move with who and why
 * (the history rollback walks back along). Moves of one channel are serialised by a transaction-scoped advisory
 * lock, shared by every hub process on the database: inChannelLock.
 */
import { and, asc, desc, eq, isNotNull } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { withAdvisoryLock } from '../db/advisory-lock';
import type { Database } from '../db/database';
import { channelEvents, channels, modelVersions, projects, registeredModels } from '../db/schema';

/** The model version a channel's canary runs (channels.candidate_version_id), joined beside the current one. */
const candidateVersions = alias(modelVersions, 'candidate_versions');

export type Channel = typeof channels.$inferSelect;
/**
 * promote and rollback move the channel; canary starts a staged rollout of the event's to-version (from = the current
 * one) and canary-abort ends one without promoting it (from = the candidate, to = the current version). A canary
 * promoted to every device is a promote.
 */
export type ChannelAction = 'promote' | 'rollback' | 'canary' | 'canary-abort';
/** A move; the action column is checked to be one of ChannelAction. */
export type ChannelEvent = Omit<typeof channelEvents.$inferSelect, 'action'> & { action: ChannelAction };

/**
 * Runs `work` in a transaction holding the lock of one (model, channel) until it ends. Every write of the channel,
 * and of its pointer file, happens under it.
 */
export async function inChannelLock<T>(db: Database, modelId: string, channel: string, work: (tx: Database) => Promise<T>): Promise<T> {
  return withAdvisoryLock(db, channelLockKey(modelId, channel), work);
}

/** The advisory lock key of one (model, channel): every process moving that channel takes it. */
export const channelLockKey = (modelId: string, channel: string) => `edgeloop.channel/${modelId}/${channel}`;

export async function find(db: Database, modelId: string, name: string): Promise<Channel | null> {
  const [row] = await db.select().from(channels).where(and(eq(channels.modelId, modelId), eq(channels.name, name)));
  return row ?? null;
}

export async function listOfModel(db: Database, modelId: string): Promise<Channel[]> {
  return db.select().from(channels).where(eq(channels.modelId, modelId));
}

/** The channel's moves, oldest first. */
export async function history(db: Database, modelId: string, channel: string): Promise<Pick<ChannelEvent, 'action' | 'fromVersionId' | 'toVersionId'>[]> {
  const rows = await db
    .select({ action: channelEvents.action, fromVersionId: channelEvents.fromVersionId, toVersionId: channelEvents.toVersionId })
    .from(channelEvents)
    .where(and(eq(channelEvents.modelId, modelId), eq(channelEvents.channel, channel)))
    .orderBy(asc(channelEvents.id));
  return rows.map((r) => ({ ...r, action: r.action as ChannelAction }));
}

/** The latest `limit` moves of any channel of the model, newest first. */
export async function recentEvents(db: Database, modelId: string, limit: number): Promise<ChannelEvent[]> {
  const rows = await db.select().from(channelEvents).where(eq(channelEvents.modelId, modelId)).orderBy(desc(channelEvents.id)).limit(limit);
  return rows.map((r) => ({ ...r, action: r.action as ChannelAction }));
}

/** A channel's staged rollout in progress: the candidate version, the share of devices that run it, and since when. */
export interface Candidate {
  versionId: string;
  share: number;
  since: Date;
}

/** The channel's candidate, or null when no canary runs (or there is no channel). */
export function candidateOf(channel: Channel | null): Candidate | null {
  if (!channel?.candidateVersionId || channel.candidateShare === null || !channel.candidateSince) return null;
  return { versionId: channel.candidateVersionId, share: channel.candidateShare, since: channel.candidateSince };
}

/**
 * Starts or ends the channel's canary and records it (call it inside inChannelLock, on a channel that exists): `candidate`
 * null ends it. The channel row's movedBy/movedAt change too: the signed pointer changes, and a device refuses a
 * pointer moved before the one it holds (a replay), so every pointer change must carry a later time.
 */
export async function recordCanaryMove(
  tx: Database,
  move: { modelId: string; channel: string; action: 'canary' | 'canary-abort'; fromVersionId: string; toVersionId: string; candidate: { versionId: string; share: number } | null; reason: string; movedBy: string; at: Date },
): Promise<void> {
  await tx
    .update(channels)
    .set({
      candidateVersionId: move.candidate?.versionId ?? null,
      candidateShare: move.candidate?.share ?? null,
      candidateSince: move.candidate ? move.at : null,
      movedBy: move.movedBy,
      movedAt: move.at,
    })
    .where(and(eq(channels.modelId, move.modelId), eq(channels.name, move.channel)));
  await recordEvent(tx, move);
}

/** The latest end of a canary on the channel: a canary-abort, or the promote that followed a canary of the same version. */
export async function lastCanaryEnd(db: Database, modelId: string, channel: string): Promise<ChannelEvent | null> {
  const rows = await db
    .select()
    .from(channelEvents)
    .where(and(eq(channelEvents.modelId, modelId), eq(channelEvents.channel, channel)))
    .orderBy(desc(channelEvents.id))
    .limit(200);
  const events = rows.map((r) => ({ ...r, action: r.action as ChannelAction }));
  // Newest first: an abort ends a canary; a promote ends one when the move just before it started a canary of that version.
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    if (event.action === 'canary-abort') return event;
    if (event.action === 'promote' && events[i + 1]?.action === 'canary' && events[i + 1]!.toVersionId === event.toVersionId) return event;
  }
  return null;
}

/** Points the channel at a version and records the move (call it inside inChannelLock); a canary must have been ended first. */
export async function recordMove(
  tx: Database,
  move: { modelId: string; channel: string; action: 'promote' | 'rollback'; fromVersionId: string | null; toVersionId: string; reason: string; movedBy: string; at: Date },
): Promise<void> {
  // A move ends any canary: every device runs the version the channel now points to.
  const ended = { candidateVersionId: null, candidateShare: null, candidateSince: null };
  await tx
    .insert(channels)
    .values({ modelId: move.modelId, name: move.channel, modelVersionId: move.toVersionId, movedBy: move.movedBy, movedAt: move.at })
    .onConflictDoUpdate({ target: [channels.modelId, channels.name], set: { modelVersionId: move.toVersionId, movedBy: move.movedBy, movedAt: move.at, ...ended } });
  await recordEvent(tx, move);
}

/**
 * What the channel's pointer file says: the version it points to and when it moved, and the candidate a share of
 * devices runs while a canary is on; null before its first promote.
 */
export async function pointerOf(
  db: Database,
  modelId: string,
  channel: string,
): Promise<{ version: number; manifestKey: string; manifestSha256: string; movedAt: Date; candidate: { version: number; manifestKey: string; manifestSha256: string; share: number; since: Date } | null } | null> {
  const [row] = await db
    .select({
      version: modelVersions.version,
      manifestKey: modelVersions.manifestKey,
      manifestSha256: modelVersions.manifestSha256,
      movedAt: channels.movedAt,
      candidateVersion: candidateVersions.version,
      candidateManifestKey: candidateVersions.manifestKey,
      candidateManifestSha256: candidateVersions.manifestSha256,
      candidateShare: channels.candidateShare,
      candidateSince: channels.candidateSince,
    })
    .from(channels)
    .innerJoin(modelVersions, eq(modelVersions.id, channels.modelVersionId))
    .leftJoin(candidateVersions, eq(candidateVersions.id, channels.candidateVersionId))
    .where(and(eq(channels.modelId, modelId), eq(channels.name, channel)));
  if (!row) return null;
  const { candidateVersion, candidateManifestKey, candidateManifestSha256, candidateShare, candidateSince, ...current } = row;
  const candidate =
    candidateVersion !== null && candidateManifestKey !== null && candidateManifestSha256 !== null && candidateShare !== null && candidateSince !== null
      ? { version: candidateVersion, manifestKey: candidateManifestKey, manifestSha256: candidateManifestSha256, share: candidateShare, since: candidateSince }
      : null;
  return { ...current, candidate };
}

/** Whether the version is the candidate of a canary running on the channel (of its model). */
export async function isCandidate(db: Database, modelVersionId: string, channel: string): Promise<boolean> {
  const rows = await db
    .select({ name: channels.name })
    .from(channels)
    .where(and(eq(channels.candidateVersionId, modelVersionId), eq(channels.name, channel)))
    .limit(1);
  return rows.length > 0;
}

/** Every channel with a canary running, with its project's id and slug and the model's name. */
export async function everyCanary(db: Database): Promise<{ projectId: string; project: string; model: string; modelId: string; channel: string }[]> {
  return db
    .select({ projectId: projects.id, project: projects.slug, model: registeredModels.name, modelId: channels.modelId, channel: channels.name })
    .from(channels)
    .innerJoin(registeredModels, eq(registeredModels.id, channels.modelId))
    .innerJoin(projects, eq(projects.id, registeredModels.projectId))
    .where(isNotNull(channels.candidateVersionId))
    .orderBy(projects.slug, registeredModels.name, channels.name);
}

/** Every channel of every model, with the project's slug and the model's name. */
export async function everyChannel(db: Database): Promise<{ project: string; model: string; modelId: string; channel: string }[]> {
  return db
    .select({ project: projects.slug, model: registeredModels.name, modelId: channels.modelId, channel: channels.name })
    .from(channels)
    .innerJoin(registeredModels, eq(registeredModels.id, channels.modelId))
    .innerJoin(projects, eq(projects.id, registeredModels.projectId));
}

/** Every channel with the version it points to and its canary candidate, ordered by project, model and channel. */
export async function everyChannelWithVersion(
  db: Database,
): Promise<{ project: string; model: string; modelId: string; channel: string; version: number; manifestKey: string; candidate: { version: number; manifestKey: string } | null }[]> {
  const rows = await db
    .select({
      project: projects.slug,
      model: registeredModels.name,
      modelId: channels.modelId,
      channel: channels.name,
      version: modelVersions.version,
      manifestKey: modelVersions.manifestKey,
      candidateVersion: candidateVersions.version,
      candidateManifestKey: candidateVersions.manifestKey,
    })
    .from(channels)
    .innerJoin(registeredModels, eq(registeredModels.id, channels.modelId))
    .innerJoin(projects, eq(projects.id, registeredModels.projectId))
    .innerJoin(modelVersions, eq(modelVersions.id, channels.modelVersionId))
    .leftJoin(candidateVersions, eq(candidateVersions.id, channels.candidateVersionId))
    .orderBy(projects.slug, registeredModels.name, channels.name);
  return rows.map(({ candidateVersion, candidateManifestKey, ...row }) => ({
    ...row,
    candidate: candidateVersion !== null && candidateManifestKey !== null ? { version: candidateVersion, manifestKey: candidateManifestKey } : null,
  }));
}

/** The channel_events row of a move, canary or not. */
async function recordEvent(
  tx: Database,
  move: { modelId: string; channel: string; action: ChannelAction; fromVersionId: string | null; toVersionId: string; reason: string; movedBy: string; at: Date },
): Promise<void> {
  const { modelId, channel, action, fromVersionId, toVersionId, reason, movedBy, at } = move;
  await tx.insert(channelEvents).values({ modelId, channel, action, fromVersionId, toVersionId, reason, movedBy, at });
}
