/**
 * Channels (production, staging, ...) are mutable pointers to model versions. Every move is an event with who and
 * why; rollback undoes the latest promote not yet undone. Each move republishes the channel's signed pointer file,
 * which the CDN serves with a short max-age.
 */
import { cdnUrl, channelPointerKey, modelDir, type ChannelPointer, POINTER_CACHE_CONTROL } from '@edgeloop/shared';
import type { Database } from '../db/database';
import type { Caller, HubDeps } from '../deps';
import { getProject } from '../projects/project.service';
import { HubError, badRequest, conflict, notFound } from '../errors';
import { ensureReferenceProfile } from '../monitoring/reference-profile.service';
import { pipelineSettingsOf } from '../pipelines/pipeline-settings.service';
import { type CanaryGroup, type CanaryVerdict, compareGroups, judgeCanary } from './canary.service';
import * as channels from './channel.repository';
import type { KeyInfo } from './key-ring';
import { type ModelRef, requireModel, requireVersion } from './model-lookup';
import * as models from './model-version.repository';
import type { ModelVersion } from './model-version.repository';
import { type ModelVersionSummary, toVersionSummary } from './publish.service';
import { manifestKeyId, signPayload, signingKey } from './signing';


export async function promote(deps: HubDeps, caller: Caller, input: ModelRef & { channel: string; version: number; reason: string }) {
  const { model } = await requireModel(deps, input);
  const target = await requireVersion(deps, model.id, input, input.version);
  return moveChannel(deps, caller, input, model.id, () => Promise.resolve(target), 'promote', input.reason);
}

/**
 * Rollback undoes the latest promote not yet undone: the channel's history is a stack where a promote pushes and a
 * rollback pops, so rolling back twice walks back two promotes (v1 -> v2 -> v3, rollback: v2, rollback: v1) and
 * never forward again.
 */
export async function rollback(deps: HubDeps, caller: Caller, input: ModelRef & { channel: string; reason: string; to?: number }) {
  const { model } = await requireModel(deps, input);
  return moveChannel(
    deps,
    caller,
    input,
    model.id,
    async (tx) => {
      const step = await rollbackStep(tx, model.id, input);
      const target = await models.findVersionById(tx, step.toVersionId);
      // The caller was shown where the rollback goes; if the channel moved since, it would go elsewhere.
      if (input.to !== undefined && target!.version !== input.to) {
        throw conflict(`channel "${input.channel}" moved since: a rollback would now go to v${target!.version}, not v${input.to}; check and roll back again`);
      }
      return target!;
    },
    'rollback',
    input.reason,
  );
}

/** The promote the next rollback undoes, found by replaying the channel's history as a stack. */
async function rollbackStep(db: Database, modelId: string, ref: ModelRef & { channel: string }): Promise<{ fromVersionId: string; toVersionId: string }> {
  const events = await channels.history(db, modelId, ref.channel);
  if (events.length === 0) throw notFound(`channel "${ref.channel}" of "${ref.model}" has never been promoted`);
  const promotes: (typeof events)[number][] = [];
  for (const event of events) {
    // Canary moves never moved the channel (a canary promoted to every device is recorded as a promote).
    if (event.action === 'promote') promotes.push(event);
    else if (event.action === 'rollback') promotes.pop();
  }
  const undone = promotes.at(-1);
  if (!undone?.fromVersionId) {
    throw conflict(`channel "${ref.channel}" of "${ref.model}" has no earlier version to roll back to: every promote before it has been rolled back already`);
  }
  return { fromVersionId: undone.toVersionId, toVersionId: undone.fromVersionId };
}

/**
 * Where a rollback of the channel would go, named before it happens. `to` is null when it would be refused: nothing
 * to go back to, or a version devices would refuse (signed by a retired key); `reason` says which.
 */
export async function rollbackTarget(deps: HubDeps, input: ModelRef & { channel: string }): Promise<{ channel: string; from: number | null; to: number | null; reason: string | null }> {
  const { model } = await requireModel(deps, input);
  const versionNumbers = await models.versionNumbers(deps.db, model.id);
  const current = await channels.find(deps.db, model.id, input.channel);
  const from = current ? versionNumbers.get(current.modelVersionId)! : null;
  return { channel: input.channel, from, ...(await rollbackPreview(deps, model.id, input, versionNumbers)) };
}

/** The version a rollback would move the channel to, or why it would be refused: the checks a rollback makes. */
async function rollbackPreview(deps: HubDeps, modelId: string, ref: ModelRef & { channel: string }, versionNumbers: Map<string, number>): Promise<{ to: number | null; reason: string | null }> {
  try {
    const step = await rollbackStep(deps.db, modelId, ref);
    const target = await models.findVersionById(deps.db, step.toVersionId);
    await refuseUntrustedManifest(deps, await deps.keys.list(), target!);
    return { to: versionNumbers.get(step.toVersionId)!, reason: null };
  } catch (error) {
    if (error instanceof HubError) return { to: null, reason: error.message };
    throw error;
  }
}

/**
 * Moves are serialised per channel by a transaction-scoped advisory lock (across hub processes sharing the database),
 * so the target is chosen from the channel's committed history. The pointer file is written after the commit, from
 * the channel row as committed, under the same lock: whichever writer comes last reads the last committed move, so
 * the pointer can never end on an older move than the database.
 */
async function moveChannel(
  deps: HubDeps,
  caller: Caller,
  ref: ModelRef & { channel: string },
  modelId: string,
  chooseTarget: (tx: Database) => Promise<ModelVersion>,
  action: 'promote' | 'rollback',
  reason: string,
  /** 'abort' (a move by hand): a canary running is ended first, recorded as canary-abort; 'promoted': the move promotes the canary's candidate. */
  canaryEnd: 'abort' | 'promoted' = 'abort',
) {
  // The key ring may need the database; PGlite has one connection, so make it ready before holding a transaction.
  await deps.keys.ready();
  const keys = await deps.keys.list();
  const { from, target, moved } = await channels.inChannelLock(deps.db, modelId, ref.channel, async (tx) => {
    const target = await chooseTarget(tx);
    await refuseUntrustedManifest(deps, keys, target);
    const movedAt = deps.now();
    const current = await channels.find(tx, modelId, ref.channel);
    const candidate = channels.candidateOf(current);
    if (candidate && current && canaryEnd === 'abort') {
      // A hand move while a canary runs ends it first: every device goes where the move says.
      await abortCanary(tx, { modelId, channel: ref.channel, candidateId: candidate.versionId, currentId: current.modelVersionId, reason: `ended by a ${action} by hand: ${reason}`, by: caller, at: movedAt });
      if (current.modelVersionId === target.id) return { from: current.modelVersionId, target, moved: true };
    }
    // Promoting the version the channel already points to changes nothing, and leaves no step for a rollback to undo.
    if (current?.modelVersionId === target.id) return { from: current.modelVersionId, target, moved: false };
    await channels.recordMove(tx, {
      modelId,
      channel: ref.channel,
      action,
      fromVersionId: current?.modelVersionId ?? null,
      toVersionId: target.id,
      reason,
      movedBy: caller.name,
      at: movedAt,
    });
    return { from: current?.modelVersionId ?? null, target, moved: true };
  });
  await writeChannelPointer(deps, ref, modelId);
  if (moved) deps.log.info(`${ref.project}/${ref.model}: ${action} ${ref.channel} -> v${target.version} by ${caller.name} (${reason})`);
  return { channel: ref.channel, action, fromVersionId: from, version: toVersionSummary(deps, target, ref.project, ref.model), pointerUrl: cdnUrl(deps.cdnBaseUrl, channelPointerKey(ref.project, ref.model, ref.channel)) };
}

/**
 * Devices verify a manifest with the published key its envelope names: a version signed by a retired key (or by a
 * key this hub does not know) would be refused on every device, silently. A manifest that cannot be read is left to
 * the device's own check.
 */
async function refuseUntrustedManifest(deps: HubDeps, keys: KeyInfo[], target: ModelVersion): Promise<void> {
  const keyId = await manifestKeyId(deps, target.manifestKey);
  if (keyId === null) return;
  const key = keys.find((k) => k.id === keyId);
  if (key && key.state !== 'retired') return;
  throw conflict(
    `v${target.version} is signed by ${key ? 'retired key' : 'key'} ${keyId}${key ? '' : ', which this hub does not know'}; devices would refuse it. ` +
      'Promote a version published with a trusted key instead.',
  );
}

/** A manifest's location relative to the pointer's directory (<model>/channels/), so it resolves under any CDN base URL. */
const pointerPath = (ref: ModelRef, manifestKey: string) => `../${manifestKey.slice(modelDir(ref.project, ref.model).length)}`;

/**
 * Writes the channel's signed pointer file from the channel row as committed. Returns whether the file changed:
 * the pointer is a pure function of the row (Ed25519 signatures are deterministic), so an up-to-date file is kept.
 */
export async function writeChannelPointer(deps: HubDeps, ref: ModelRef & { channel: string }, modelId: string): Promise<boolean> {
  await deps.keys.ready();
  return channels.inChannelLock(deps.db, modelId, ref.channel, async (tx) => {
    // The active key as it is once the lock is held: a rotation re-signs every pointer under this lock, so a write
    // that waited for it signs with the new key too, never overwriting a re-signed pointer with the old one.
    const key = await deps.keys.active();
    const row = await channels.pointerOf(tx, modelId, ref.channel);
    if (!row) return false;
    const pointer: ChannelPointer = {
      format: 'edgeloop.channel/v1',
      project: ref.project,
      model: ref.model,
      channel: ref.channel,
      version: row.version,
      manifestPath: pointerPath(ref, row.manifestKey),
      manifestSha256: row.manifestSha256,
      movedAt: row.movedAt.toISOString(),
      ...(row.candidate
        ? {
            candidate: {
              version: row.candidate.version,
              manifestPath: pointerPath(ref, row.candidate.manifestKey),
              manifestSha256: row.candidate.manifestSha256,
              share: row.candidate.share,
              since: row.candidate.since.toISOString(),
            },
          }
        : {}),
    };
    const bytes = new TextEncoder().encode(JSON.stringify(signPayload(key, JSON.stringify(pointer))));
    const objectKey = channelPointerKey(ref.project, ref.model, ref.channel);
    const existing = await deps.store.get(objectKey);
    if (existing && Buffer.from(existing).equals(bytes)) return false;
    await deps.store.put(objectKey, bytes, { contentType: 'application/json', cacheControl: POINTER_CACHE_CONTROL });
    return true;
  });
}

/**
 * Rewrites every channel's pointer file from the database, at hub start: a crash between a move's commit and its
 * pointer write, or a pointer file lost from the store, heals here. Returns how many files were (re)written.
 */
export async function rebuildChannelPointers(deps: HubDeps): Promise<number> {
  const rows = await channels.everyChannel(deps.db);
  let written = 0;
  for (const row of rows) {
    if (await writeChannelPointer(deps, { project: row.project, model: row.model, channel: row.channel }, row.modelId)) written++;
  }
  return written;
}

/** Where a channel points now, with the URLs a device needs. */
export async function getChannel(deps: HubDeps, input: ModelRef & { channel: string }) {
  const { model } = await requireModel(deps, input);
  const row = await channels.find(deps.db, model.id, input.channel);
  if (!row) throw notFound(`channel "${input.channel}" of "${input.model}" points to no version yet; promote one first`);
  const version = await models.findVersionById(deps.db, row.modelVersionId);
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

export async function listModelVersions(
  deps: HubDeps,
  input: ModelRef,
): Promise<{
  versions: ModelVersionSummary[];
  channels: {
    name: string;
    version: number;
    movedBy: string;
    movedAt: string;
    rollbackTo: number | null;
    rollbackRefusal: string | null;
    /** The canary running on the channel, if any (registry.canary.state has its numbers). */
    candidate: { version: number; share: number; since: string } | null;
  }[];
  history: { channel: string; action: channels.ChannelAction; from: number | null; to: number; reason: string; movedBy: string; at: string }[];
}> {
  const { model } = await requireModel(deps, input);
  const rows = await models.listVersions(deps.db, model.id);
  const byId = new Map(rows.map((r) => [r.id, r.version]));
  const channelRows = await channels.listOfModel(deps.db, model.id);
  const events = await channels.recentEvents(deps.db, model.id, 100);
  return {
    versions: rows.map((r) => toVersionSummary(deps, r, input.project, input.model)),
    channels: await Promise.all(
      channelRows.map(async (c) => {
        // Where a rollback would go, so the admin can name it on the button, or why there is none.
        const rollback = await rollbackPreview(deps, model.id, { ...input, channel: c.name }, byId);
        const running = channels.candidateOf(c);
        return {
          name: c.name,
          version: byId.get(c.modelVersionId)!,
          movedBy: c.movedBy,
          movedAt: c.movedAt.toISOString(),
          rollbackTo: rollback.to,
          rollbackRefusal: rollback.reason,
          candidate: running ? { version: byId.get(running.versionId)!, share: running.share, since: running.since.toISOString() } : null,
        };
      }),
    ),
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
  const rows = await models.listModels(deps.db, project.id);
  return rows.map((r) => ({ id: r.id, name: r.name, createdBy: r.createdBy, createdAt: r.createdAt.toISOString() }));
}

/** Where a channel's staged rollout stands: the candidate a share of devices runs, and the latest canary decision. */
export interface CanaryState {
  channel: string;
  /** The version every other device runs. */
  version: number | null;
  candidate: { version: number; share: number; since: string; canaryEvents: number } | null;
  /** The latest end of a canary on this channel: promoted to every device, or aborted (rolled back), with why. */
  lastDecision: { version: number; decision: 'promoted' | 'rolled-back'; reason: string; by: string; at: string } | null;
  /** While a canary runs: the canary and production groups side by side over the canary period. */
  groups: { canary: CanaryGroup; production: CanaryGroup } | null;
  /** While a canary runs: what the rollout check would decide now, and whether it decides by itself (the project's rollout settings). */
  verdict: (CanaryVerdict & { automatic: boolean; minCanaryEvents: number }) | null;
}

/** Sends `version` to a share of the channel's devices (a stable hash of each device's id decides), recorded as a 'canary' move. */
export async function startCanary(deps: HubDeps, caller: Caller, input: ModelRef & { channel: string; version: number; share: number; reason: string }): Promise<CanaryState> {
  if (!(input.share > 0 && input.share < 1)) throw badRequest(`share must be a fraction of devices between 0 and 1, both excluded (e.g. 0.1 for 10%); got ${input.share}`);
  const { model } = await requireModel(deps, input);
  const target = await requireVersion(deps, model.id, input, input.version);
  await deps.keys.ready();
  const keys = await deps.keys.list();
  await channels.inChannelLock(deps.db, model.id, input.channel, async (tx) => {
    const current = await channels.find(tx, model.id, input.channel);
    if (!current) throw conflict(`channel "${input.channel}" of "${input.model}" points to no version yet: promote one first (a canary is compared with the version every other device runs)`);
    const running = channels.candidateOf(current);
    if (running) {
      const version = await models.findVersionById(tx, running.versionId);
      throw conflict(
        `a canary of v${version!.version} (${Math.round(running.share * 100)}% of devices, since ${running.since.toISOString()}) is already running on channel "${input.channel}": promote or abort it first`,
      );
    }
    if (current.modelVersionId === target.id) throw conflict(`channel "${input.channel}" already runs v${input.version} on every device: a canary needs another version`);
    await refuseUntrustedManifest(deps, keys, target);
    await channels.recordCanaryMove(tx, {
      modelId: model.id,
      channel: input.channel,
      action: 'canary',
      fromVersionId: current.modelVersionId,
      toVersionId: target.id,
      candidate: { versionId: target.id, share: input.share },
      reason: input.reason,
      movedBy: caller.name,
      at: deps.now(),
    });
  });
  await writeChannelPointer(deps, input, model.id);
  // The candidate's monitor compares its events with its own reference profile (made at publish): a version published
  // before profiles existed has its profile computed now, before canary events arrive.
  const profile = await ensureReferenceProfile(deps, target.id);
  if (profile.status === 'failed') deps.log.warn(`${input.project}/${input.model}: v${input.version} has no reference profile (${profile.error}); its canary events wait for one`);
  deps.log.info(`${input.project}/${input.model}: canary of v${input.version} on ${input.channel} for ${Math.round(input.share * 100)}% of devices by ${caller.name} (${input.reason})`);
  return canaryState(deps, input);
}

/**
 * Ends the channel's canary: promote the candidate to every device (a promote move, which a rollback undoes), or abort
 * it (every device back on the current version, recorded as canary-abort). `version`, when given, is the candidate the
 * caller decided about: refused if another canary runs by now.
 */
export async function decideCanary(
  deps: HubDeps,
  caller: Caller,
  input: ModelRef & { channel: string; decision: 'promote' | 'abort'; reason: string; version?: number },
): Promise<CanaryState> {
  const { model } = await requireModel(deps, input);
  const runningCandidate = async (tx: Database) => {
    const current = await channels.find(tx, model.id, input.channel);
    const running = channels.candidateOf(current);
    if (!current || !running) throw conflict(`no canary is running on channel "${input.channel}" of "${input.model}": start one first`);
    const candidate = (await models.findVersionById(tx, running.versionId))!;
    if (input.version !== undefined && candidate.version !== input.version) {
      throw conflict(`the canary on channel "${input.channel}" is of v${candidate.version} by now, not v${input.version}; check and decide again`);
    }
    return { current, candidate };
  };
  if (input.decision === 'promote') {
    await moveChannel(deps, caller, input, model.id, async (tx) => (await runningCandidate(tx)).candidate, 'promote', input.reason, 'promoted');
    return canaryState(deps, input);
  }
  const aborted = await channels.inChannelLock(deps.db, model.id, input.channel, async (tx) => {
    const { current, candidate } = await runningCandidate(tx);
    await abortCanary(tx, { modelId: model.id, channel: input.channel, candidateId: candidate.id, currentId: current.modelVersionId, reason: input.reason, by: caller, at: deps.now() });
    return candidate.version;
  });
  await writeChannelPointer(deps, input, model.id);
  deps.log.info(`${input.project}/${input.model}: canary of v${aborted} on ${input.channel} aborted by ${caller.name} (${input.reason})`);
  return canaryState(deps, input);
}

/** Ends the channel's canary (call it inside inChannelLock): every device back on the current version, recorded as canary-abort. */
function abortCanary(tx: Database, end: { modelId: string; channel: string; candidateId: string; currentId: string; reason: string; by: Caller; at: Date }): Promise<void> {
  return channels.recordCanaryMove(tx, {
    modelId: end.modelId,
    channel: end.channel,
    action: 'canary-abort',
    fromVersionId: end.candidateId,
    toVersionId: end.currentId,
    candidate: null,
    reason: end.reason,
    movedBy: end.by.name,
    at: end.at,
  });
}

export async function canaryState(deps: HubDeps, input: ModelRef & { channel: string }): Promise<CanaryState> {
  const { project, model } = await requireModel(deps, input);
  const row = await channels.find(deps.db, model.id, input.channel);
  const versionNumbers = await models.versionNumbers(deps.db, model.id);
  const end = await channels.lastCanaryEnd(deps.db, model.id, input.channel);
  const lastDecision = end
    ? end.action === 'canary-abort'
      ? { version: versionNumbers.get(end.fromVersionId!)!, decision: 'rolled-back' as const, reason: end.reason, by: end.movedBy, at: end.at.toISOString() }
      : { version: versionNumbers.get(end.toVersionId)!, decision: 'promoted' as const, reason: end.reason, by: end.movedBy, at: end.at.toISOString() }
    : null;
  const running = channels.candidateOf(row);
  const base = { channel: input.channel, version: row ? versionNumbers.get(row.modelVersionId)! : null, lastDecision };
  if (!row || !running) return { ...base, candidate: null, groups: null, verdict: null };
  const current = { id: row.modelVersionId, version: versionNumbers.get(row.modelVersionId)! };
  const candidate = { id: running.versionId, version: versionNumbers.get(running.versionId)! };
  const groups = await compareGroups(deps, { projectId: project.id, model: input.model, channel: input.channel, current, candidate, since: running.since });
  const { rollout } = await pipelineSettingsOf(deps, project.id);
  return {
    ...base,
    candidate: { version: candidate.version, share: running.share, since: running.since.toISOString(), canaryEvents: groups.canary.events },
    groups,
    verdict: { ...judgeCanary(groups, rollout), automatic: rollout.automatic, minCanaryEvents: rollout.minCanaryEvents },
  };
}
