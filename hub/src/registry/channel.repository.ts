/**
 * The channels and channel_events tables: where each channel of a model points, and every move with who and why
 * (the history rollback walks back along). Moves of one channel are serialised by a transaction-scoped advisory
 * lock, shared by every hub process on the database: inChannelLock.
 */
import { and, asc, desc, eq } from 'drizzle-orm';
import { withAdvisoryLock } from '../db/advisory-lock';
import type { Database } from '../db/database';
import { channelEvents, channels, modelVersions, projects, registeredModels } from '../db/schema';

export type Channel = typeof channels.$inferSelect;
export type ChannelAction = 'promote' | 'rollback';
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

/** Points the channel at a version and records the move (call it inside inChannelLock). */
export async function recordMove(
  tx: Database,
  move: { modelId: string; channel: string; action: ChannelAction; fromVersionId: string | null; toVersionId: string; reason: string; movedBy: string; at: Date },
): Promise<void> {
  await tx
    .insert(channels)
    .values({ modelId: move.modelId, name: move.channel, modelVersionId: move.toVersionId, movedBy: move.movedBy, movedAt: move.at })
    .onConflictDoUpdate({ target: [channels.modelId, channels.name], set: { modelVersionId: move.toVersionId, movedBy: move.movedBy, movedAt: move.at } });
  await tx.insert(channelEvents).values({
    modelId: move.modelId,
    channel: move.channel,
    action: move.action,
    fromVersionId: move.fromVersionId,
    toVersionId: move.toVersionId,
    reason: move.reason,
    movedBy: move.movedBy,
    at: move.at,
  });
}

/** What the channel's pointer file says: the version it points to and when it moved, or null before its first promote. */
export async function pointerOf(db: Database, modelId: string, channel: string): Promise<{ version: number; manifestKey: string; manifestSha256: string; movedAt: Date } | null> {
  const [row] = await db
    .select({ version: modelVersions.version, manifestKey: modelVersions.manifestKey, manifestSha256: modelVersions.manifestSha256, movedAt: channels.movedAt })
    .from(channels)
    .innerJoin(modelVersions, eq(modelVersions.id, channels.modelVersionId))
    .where(and(eq(channels.modelId, modelId), eq(channels.name, channel)));
  return row ?? null;
}

/** Every channel of every model, with the project's slug and the model's name. */
export async function everyChannel(db: Database): Promise<{ project: string; model: string; modelId: string; channel: string }[]> {
  return db
    .select({ project: projects.slug, model: registeredModels.name, modelId: channels.modelId, channel: channels.name })
    .from(channels)
    .innerJoin(registeredModels, eq(registeredModels.id, channels.modelId))
    .innerJoin(projects, eq(projects.id, registeredModels.projectId));
}

/** Every channel with the version it points to, ordered by project, model and channel. */
export async function everyChannelWithVersion(
  db: Database,
): Promise<{ project: string; model: string; modelId: string; channel: string; version: number; manifestKey: string }[]> {
  return db
    .select({
      project: projects.slug,
      model: registeredModels.name,
      modelId: channels.modelId,
      channel: channels.name,
      version: modelVersions.version,
      manifestKey: modelVersions.manifestKey,
    })
    .from(channels)
    .innerJoin(registeredModels, eq(registeredModels.id, channels.modelId))
    .innerJoin(projects, eq(projects.id, registeredModels.projectId))
    .innerJoin(modelVersions, eq(modelVersions.id, channels.modelVersionId))
    .orderBy(projects.slug, registeredModels.name, channels.name);
}
