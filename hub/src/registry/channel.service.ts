/**
 * Channels (production, staging, ...) are mutable pointers to model versions. Every move is an event with who and
 * why; rollback moves a channel back to where it pointed before its last move. Each move republishes the channel's
 * signed pointer file, which the CDN serves with a short max-age.
 */
import { and, desc, eq } from 'drizzle-orm';
import { type ChannelPointer, POINTER_CACHE_CONTROL } from '@edgeloop/shared';
import { channelEvents, channels, modelVersions, registeredModels } from '../db/schema';
import type { Caller, HubDeps } from '../deps';
import { getProject } from '../datasets/project.service';
import { conflict, notFound } from '../errors';
import { cdnUrl, channelPointerKey, modelDir } from './cdn-paths';
import { type ModelVersionSummary, toVersionSummary } from './publish.service';
import { signPayload, signingKey } from './signing';

interface ModelRef {
  project: string;
  model: string;
}

async function requireModel(deps: HubDeps, ref: ModelRef) {
  const project = await getProject(deps, ref.project);
  const [model] = await deps.db.select().from(registeredModels).where(and(eq(registeredModels.projectId, project.id), eq(registeredModels.name, ref.model)));
  if (!model) throw notFound(`project "${ref.project}" has no registered model "${ref.model}"`);
  return { project, model };
}

async function requireVersion(deps: HubDeps, modelId: string, ref: ModelRef, version: number) {
  const [row] = await deps.db.select().from(modelVersions).where(and(eq(modelVersions.modelId, modelId), eq(modelVersions.version, version)));
  if (!row) throw notFound(`model "${ref.model}" has no version ${version}`);
  return row;
}

export async function promote(deps: HubDeps, caller: Caller, input: ModelRef & { channel: string; version: number; reason: string }) {
  const { model } = await requireModel(deps, input);
  const target = await requireVersion(deps, model.id, input, input.version);
  return moveChannel(deps, caller, input, model.id, target, 'promote', input.reason);
}

export async function rollback(deps: HubDeps, caller: Caller, input: ModelRef & { channel: string; reason: string }) {
  const { model } = await requireModel(deps, input);
  const [last] = await deps.db
    .select()
    .from(channelEvents)
    .where(and(eq(channelEvents.modelId, model.id), eq(channelEvents.channel, input.channel)))
    .orderBy(desc(channelEvents.id))
    .limit(1);
  if (!last) throw notFound(`channel "${input.channel}" of "${input.model}" has never been promoted`);
  if (!last.fromVersionId) throw conflict(`channel "${input.channel}" has no earlier version to roll back to`);
  const [target] = await deps.db.select().from(modelVersions).where(eq(modelVersions.id, last.fromVersionId));
  return moveChannel(deps, caller, input, model.id, target!, 'rollback', input.reason);
}

async function moveChannel(
  deps: HubDeps,
  caller: Caller,
  ref: ModelRef & { channel: string },
  modelId: string,
  target: typeof modelVersions.$inferSelect,
  action: 'promote' | 'rollback',
  reason: string,
) {
  const movedAt = deps.now();
  const from = await deps.db.transaction(async (tx) => {
    const [current] = await tx.select().from(channels).where(and(eq(channels.modelId, modelId), eq(channels.name, ref.channel))).for('update');
    await tx
      .insert(channels)
      .values({ modelId, name: ref.channel, modelVersionId: target.id, movedBy: caller.name, movedAt })
      .onConflictDoUpdate({ target: [channels.modelId, channels.name], set: { modelVersionId: target.id, movedBy: caller.name, movedAt } });
    await tx.insert(channelEvents).values({
      modelId,
      channel: ref.channel,
      action,
      fromVersionId: current?.modelVersionId ?? null,
      toVersionId: target.id,
      reason,
      movedBy: caller.name,
      at: movedAt,
    });
    return current?.modelVersionId ?? null;
  });
  await writePointer(deps, ref, target, movedAt);
  deps.log.info(`${ref.project}/${ref.model}: ${action} ${ref.channel} -> v${target.version} by ${caller.name} (${reason})`);
  return { channel: ref.channel, action, fromVersionId: from, version: toVersionSummary(deps, target, ref.project, ref.model), pointerUrl: cdnUrl(deps.cdnBaseUrl, channelPointerKey(ref.project, ref.model, ref.channel)) };
}

export async function writePointer(deps: HubDeps, ref: ModelRef & { channel: string }, target: typeof modelVersions.$inferSelect, movedAt: Date) {
  const pointer: ChannelPointer = {
    format: 'edgeloop.channel/v1',
    project: ref.project,
    model: ref.model,
    channel: ref.channel,
    version: target.version,
    // Relative to the pointer's directory (<model>/channels/), so it resolves under any CDN base URL.
    manifestPath: `../${target.manifestKey.slice(modelDir(ref.project, ref.model).length)}`,
    manifestSha256: target.manifestSha256,
    movedAt: movedAt.toISOString(),
  };
  const envelope = signPayload(await signingKey(deps), JSON.stringify(pointer));
  const key = channelPointerKey(ref.project, ref.model, ref.channel);
  await deps.store.put(key, new TextEncoder().encode(JSON.stringify(envelope)), { contentType: 'application/json', cacheControl: POINTER_CACHE_CONTROL });
}

/** Where a channel points now, with the URLs a device needs. */
export async function getChannel(deps: HubDeps, input: ModelRef & { channel: string }) {
  const { model } = await requireModel(deps, input);
  const [row] = await deps.db.select().from(channels).where(and(eq(channels.modelId, model.id), eq(channels.name, input.channel)));
  if (!row) throw notFound(`channel "${input.channel}" of "${input.model}" points to no version yet; promote one first`);
  const [version] = await deps.db.select().from(modelVersions).where(eq(modelVersions.id, row.modelVersionId));
  const key = await signingKey(deps);
  return {
    channel: input.channel,
    version: toVersionSummary(deps, version!, input.project, input.model),
    pointerUrl: cdnUrl(deps.cdnBaseUrl, channelPointerKey(input.project, input.model, input.channel)),
    keyId: key.id,
    movedBy: row.movedBy,
    movedAt: row.movedAt.toISOString(),
  };
}

export async function listModelVersions(deps: HubDeps, input: ModelRef): Promise<{ versions: ModelVersionSummary[]; channels: { name: string; version: number; movedBy: string; movedAt: string }[]; history: unknown[] }> {
  const { model } = await requireModel(deps, input);
  const rows = await deps.db.select().from(modelVersions).where(eq(modelVersions.modelId, model.id)).orderBy(desc(modelVersions.version));
  const byId = new Map(rows.map((r) => [r.id, r.version]));
  const channelRows = await deps.db.select().from(channels).where(eq(channels.modelId, model.id));
  const events = await deps.db.select().from(channelEvents).where(eq(channelEvents.modelId, model.id)).orderBy(desc(channelEvents.id)).limit(100);
  return {
    versions: rows.map((r) => toVersionSummary(deps, r, input.project, input.model)),
    channels: channelRows.map((c) => ({ name: c.name, version: byId.get(c.modelVersionId)!, movedBy: c.movedBy, movedAt: c.movedAt.toISOString() })),
    history: events.map((e) => ({
      channel: e.channel,
      action: e.action,
      from: e.fromVersionId ? byId.get(e.fromVersionId)! : null,
      to: byId.get(e.toVersionId)!,
      reason: e.reason,
      movedBy: e.movedBy,
      at: e.at.toISOString(),
    })),
  };
}

export async function listModels(deps: HubDeps, input: { project: string }) {
  const project = await getProject(deps, input.project);
  const rows = await deps.db.select().from(registeredModels).where(eq(registeredModels.projectId, project.id));
  return rows.map((r) => ({ id: r.id, name: r.name, createdBy: r.createdBy, createdAt: r.createdAt.toISOString() }));
}
