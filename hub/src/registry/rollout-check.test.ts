/**
 * Staged rollout on real monitor streams: devices (random ids) pick their group with the shared rollout hash exactly
 * as the PWA does, send predictions of the version their group runs, the monitors process them, and the rollout check
 * compares the canary and production groups: it waits, promotes after enough clean canary events, and aborts on a
 * regression (accuracy estimate, latency), each decision recorded with its reason and numbers.
 */
import { type PredictionEvent, channelPointerKey, channelPointerSchema, inCanary, mulberry32, rolloutKey, signedEnvelopeSchema } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishedVersion } from '../../test/published-version';
import { SYNTHETIC_LABELS, type Draw, drawSynthetic, predictionEvents, storeProfile, syntheticModel, syntheticProfile } from '../../test/synthetic-monitor';
import { DATABASES, type TestHub, createTestHub } from '../../test/test-hub';
import { formatCanaryState } from '../cli/canary-command';
import type { Caller } from '../deps';
import { runMonitorUpdateJob } from '../monitoring/monitor.job';
import { setPipelineSettings } from '../pipelines/pipeline-settings.service';
import { getProject } from '../projects/project.service';
import * as models from './model-version.repository';
import { canaryState, startCanary } from './channel.service';
import { QUEUES } from '../jobs/job-queue';
import { ROLLOUT_CHECK_CRON, checkCanaries, startRolloutWorker } from './rollout-check.job';

const PROJECT = 'rollout';
const MODEL = 'bug-net';
const CHANNEL = 'production';
const ENGINEER: Caller = { tokenId: null, name: 'test-engineer', role: 'engineer', projects: null };
/** Past the monitor's hold-back: every event synced so far is old enough to read. */
const later = () => new Date(Date.now() + 60_000);

/** The draws with each embedding moved to `keep` of its distance from the draws' centroid, the head's softmax recomputed. */
function blurred(draws: Draw[], keep: number): Draw[] {
  const { k, d, head } = syntheticModel();
  const centroid = Array.from({ length: d }, (_, j) => draws.reduce((s, draw) => s + draw.embedding[j]!, 0) / draws.length);
  return draws.map((draw) => {
    const embedding = draw.embedding.map((e, j) => centroid[j]! + keep * (e - centroid[j]!));
    const logits = Array.from({ length: k }, (_, c) => embedding.reduce((s, e, j) => s + e * head.kernel[j * k + c]!, head.bias[c]!));
    const max = Math.max(...logits);
    const exps = logits.map((z) => Math.exp(z - max));
    const total = exps.reduce((s, e) => s + e, 0);
    return { embedding, label: draw.label, probabilities: exps.map((e) => e / total) };
  });
}

describe.each(DATABASES)('staged rollout on $kind', ({ kind, skip }) => {
  let hub: TestHub;
  let projectId: string;
  const versionIds: Record<number, string> = {};
  /** 400 installations, each with a random id as the PWA makes once (seeded, so a failure replays). */
  const random = mulberry32(400);
  const devices = Array.from({ length: 400 }, () => Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join(''));
  const ref = { project: PROJECT, model: MODEL, channel: CHANNEL };

  const rolloutSettings = (rollout: { automatic: boolean }) =>
    setPipelineSettings(hub.deps, ENGINEER, { project: PROJECT, settings: { rollout: { minCanaryEvents: 200, maxAccuracyDrop: 2, maxLatencyRatio: 1.5, ...rollout } } });

  /**
   * `n` events from devices drawn in turn; each device runs the candidate when its bucket is under the share (the
   * pointer the PWA reads), else the current version. Canary devices' events come from `canary` draws (a shift, or a
   * slower model). Returns how many went to each group.
   */
  async function deviceEvents(
    n: number,
    rollout: { current: number; candidate: number; share: number },
    seed: number,
    canary: { draws?: (seed: number, n: number) => Draw[]; latencyMs?: number } = {},
  ): Promise<{ canary: number; production: number }> {
    const key = rolloutKey(PROJECT, MODEL, CHANNEL, rollout.candidate);
    const production = drawSynthetic(seed, n);
    const shifted = (canary.draws ?? drawSynthetic)(seed + 1, n);
    const events: PredictionEvent[] = [];
    const counts = { canary: 0, production: 0 };
    for (let i = 0; i < n; i++) {
      const deviceId = devices[(seed * 7 + i) % devices.length]!;
      const inGroup = inCanary(deviceId, key, rollout.share);
      counts[inGroup ? 'canary' : 'production']++;
      const [event] = predictionEvents([inGroup ? shifted[i]! : production[i]!], {
        model: MODEL,
        version: inGroup ? rollout.candidate : rollout.current,
        latencyMs: inGroup ? (canary.latencyMs ?? 4) : 4,
      });
      events.push({ ...event!, deviceId, channel: CHANNEL });
    }
    const device = await hub.as('device');
    for (let i = 0; i < events.length; i += 100) {
      expect((await device.feedback.syncPredictions({ project: PROJECT, predictions: events.slice(i, i + 100) })).rejected).toEqual([]);
    }
    for (const version of [rollout.current, rollout.candidate]) {
      await runMonitorUpdateJob(hub.deps, { projectId, modelVersionId: versionIds[version]!, channel: CHANNEL }, { now: later() });
    }
    return counts;
  }

  async function pointer() {
    const bytes = await hub.deps.store.get(channelPointerKey(PROJECT, MODEL, CHANNEL));
    return channelPointerSchema.parse(JSON.parse(signedEnvelopeSchema.parse(JSON.parse(new TextDecoder().decode(bytes!))).payload));
  }

  beforeAll(async () => {
    if (skip) return;
    hub = await createTestHub(kind);
    await (await hub.as('admin')).projects.create({ slug: PROJECT, labels: [...SYNTHETIC_LABELS] });
    projectId = (await getProject(hub.deps, PROJECT)).id;
    for (const version of [1, 2, 3, 4]) await publishedVersion(hub.deps, PROJECT, MODEL, version);
    for (const row of await models.versionIdsOf(hub.deps.db, projectId, [MODEL])) versionIds[row.version] = row.id;
    // Every version's reference profile, as publishing computes it (the candidate's monitor needs its own).
    const profile = syntheticProfile();
    for (const version of [1, 2, 3, 4]) await storeProfile(hub.deps, versionIds[version]!, profile);
    await (await hub.as('engineer')).registry.promote({ ...ref, version: 1, reason: 'first model' });
    await rolloutSettings({ automatic: true });
  }, 180_000);
  afterAll(() => hub?.close());

  it.skipIf(skip)('waits below minCanaryEvents, then promotes the candidate to every device after enough clean canary events', async () => {
    await startCanary(hub.deps, ENGINEER, { ...ref, version: 2, share: 0.25, reason: 'retrained on reviews' });
    expect((await pointer()).candidate).toMatchObject({ version: 2, share: 0.25 });

    const first = await deviceEvents(400, { current: 1, candidate: 2, share: 0.25 }, 1);
    // About a quarter of the devices, each always in the same group.
    expect(first.canary).toBeGreaterThan(50);
    expect(first.canary).toBeLessThan(200);
    const waiting = await checkCanaries(hub.deps);
    expect(waiting).toEqual([expect.objectContaining({ ...ref, candidate: 2, outcome: 'waiting' })]);
    const state = await canaryState(hub.deps, ref);
    expect(state.candidate).toMatchObject({ version: 2, share: 0.25, canaryEvents: first.canary });
    expect(state.groups!.canary).toMatchObject({ version: 2, events: first.canary, openAlerts: [] });
    expect(state.groups!.production).toMatchObject({ version: 1, events: first.production });
    expect(state.verdict).toMatchObject({ decision: 'wait', automatic: true, minCanaryEvents: 200 });
    // `edgeloop canary status` prints the groups side by side.
    const printed = formatCanaryState(state).split('\n');
    expect(printed[0]).toMatch(/^production: canary of v2 on 25% of devices since \S+; v1 on the rest$/);
    expect(printed).toContainEqual(expect.stringMatching(new RegExp(`^  events\\s+${first.canary}\\s+${first.production}$`)));
    expect(printed).toContainEqual(expect.stringMatching(/^  p95 latency\s+4\.0 ms\s+4\.0 ms$/));
    expect(printed.at(-1)).toMatch(/^  verdict now: wait \(the rollout check acts on it\): canary v2 vs production v1: \d+ of 200 canary events so far, no regression; /);

    const second = await deviceEvents(600, { current: 1, candidate: 2, share: 0.25 }, 2);
    const canaryEvents = first.canary + second.canary;
    expect(canaryEvents).toBeGreaterThanOrEqual(200);
    const [decided] = await checkCanaries(hub.deps);
    expect(decided).toMatchObject({ candidate: 2, outcome: 'promoted' });
    expect(decided!.reason).toContain(`canary v2 vs production v1: ${canaryEvents} canary events (needed 200) with no regression`);
    expect(decided!.reason).toMatch(/accuracy estimate \d+\.\d% vs \d+\.\d%, p95 latency 4\.0 ms vs 4\.0 ms, open alerts 0 vs 0/);

    const after = await canaryState(hub.deps, ref);
    expect(after).toMatchObject({ version: 2, candidate: null, groups: null, lastDecision: { version: 2, decision: 'promoted', by: 'rollout check', reason: decided!.reason } });
    expect((await pointer()).version).toBe(2);
    expect((await pointer()).candidate).toBeUndefined();
    const { history } = await (await hub.as('engineer')).registry.versions({ project: PROJECT, model: MODEL });
    expect(history.slice(0, 2).map((h) => [h.action, h.from, h.to, h.movedBy])).toEqual([
      ['promote', 1, 2, 'rollout check'],
      ['canary', 1, 2, 'test-engineer'],
    ]);
  });

  it.skipIf(skip)('aborts a canary whose label-free accuracy estimate falls, naming the numbers; every device back on the current version', async () => {
    await startCanary(hub.deps, ENGINEER, { ...ref, version: 3, share: 0.3, reason: 'a model that regressed' });
    // The canary's embeddings sit between the classes (drawn ones pulled halfway to their centroid): its calibrated
    // confidence, and so its expected accuracy, falls.
    const between = (seed: number, n: number) => blurred(drawSynthetic(seed, n), 0.4);
    await deviceEvents(500, { current: 2, candidate: 3, share: 0.3 }, 3, { draws: between });
    const [decided] = await checkCanaries(hub.deps);
    expect(decided).toMatchObject({ candidate: 3, outcome: 'aborted' });
    expect(decided!.reason).toMatch(/^canary v3 vs production v2 after \d+ canary events: /);
    expect(decided!.reason).toMatch(/label-free accuracy estimate \d+\.\d% on the canary vs \d+\.\d% in production: \d+\.\d points lower \(bound 2\)/);

    const after = await canaryState(hub.deps, ref);
    expect(after).toMatchObject({ version: 2, candidate: null, lastDecision: { version: 3, decision: 'rolled-back', by: 'rollout check', reason: decided!.reason } });
    expect(await pointer()).toMatchObject({ version: 2 });
    expect((await pointer()).candidate).toBeUndefined();
  });

  it.skipIf(skip)('leaves the decision to people when the project says so, then aborts a slower canary on its p95 latency', async () => {
    await rolloutSettings({ automatic: false });
    await startCanary(hub.deps, ENGINEER, { ...ref, version: 4, share: 0.3, reason: 'a slower architecture' });
    await deviceEvents(500, { current: 2, candidate: 4, share: 0.3 }, 5, { latencyMs: 40 });
    const [manual] = await checkCanaries(hub.deps);
    expect(manual).toMatchObject({ candidate: 4, outcome: 'manual' });
    expect(manual!.reason).toMatch(/p95 latency 3\d\.?\d* ms on the canary vs 4\.0 ms in production: \d+\.\d\dx \(bound 1\.5x\)/);
    expect((await canaryState(hub.deps, ref)).candidate).toMatchObject({ version: 4 });

    await rolloutSettings({ automatic: true });
    const [decided] = await checkCanaries(hub.deps);
    expect(decided).toMatchObject({ candidate: 4, outcome: 'aborted', reason: manual!.reason });
    expect((await canaryState(hub.deps, ref)).lastDecision).toMatchObject({ version: 4, decision: 'rolled-back', reason: manual!.reason });
    expect(await checkCanaries(hub.deps)).toEqual([]);
  });

  it.skipIf(skip)('a rollback after canaries undoes the promote the rollout check made, ignoring the canary moves', async () => {
    const engineer = await hub.as('engineer');
    expect(await engineer.registry.rollbackTarget(ref)).toMatchObject({ from: 2, to: 1 });
    expect((await engineer.registry.rollback({ ...ref, reason: 'back to v1' })).version.version).toBe(1);
  });

  it.skipIf(skip)('a monitor update of a candidate stream asks for a check at once, and the rollout worker (on its every-minute schedule) decides', async () => {
    await startCanary(hub.deps, ENGINEER, { ...ref, version: 4, share: 0.3, reason: 'the slower one again' });
    await hub.deps.queue.purgeQueue(QUEUES.rolloutCheck);
    await deviceEvents(300, { current: 1, candidate: 4, share: 0.3 }, 7, { latencyMs: 40 });
    // The candidate's monitor update asked for one check (debounced); the production stream's asked for none.
    expect(await hub.deps.queue.getQueueSize(QUEUES.rolloutCheck)).toBe(1);
    const worker = await startRolloutWorker(hub.deps, { name: 'test-rollout' });
    try {
      expect((await hub.deps.queue.getSchedules()).map((s) => [s.name, s.cron])).toContainEqual([QUEUES.rolloutCheck, ROLLOUT_CHECK_CRON]);
      const deadline = Date.now() + 30_000;
      while ((await canaryState(hub.deps, ref)).candidate && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
      expect((await canaryState(hub.deps, ref)).lastDecision).toMatchObject({ version: 4, decision: 'rolled-back', by: 'rollout check', reason: expect.stringContaining('p95 latency') });
    } finally {
      await worker.stop();
    }
  });
});
