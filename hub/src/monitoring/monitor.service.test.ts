import crypto from 'node:crypto';
import type { PredictionEvent, ReferenceProfile } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishedVersion } from '../../test/published-version';
import { SYNTHETIC_DIM, SYNTHETIC_LABELS, drawSynthetic, predictionEvents, predictionRows, storeProfile, syntheticProfile } from '../../test/synthetic-monitor';
import { DATABASES, type TestHub, createTestHub, refusal } from '../../test/test-hub';
import { createToken } from '../auth/token.service';
import { formatMonitorState } from '../cli/monitor-command';
import { QUEUES } from '../jobs/job-queue';
import { getProject } from '../projects/project.service';
import * as models from '../registry/model-version.repository';
import * as feedbackStore from '../feedback/feedback.repository';
import * as rollups from './monitor-rollup.repository';
import * as streams from './monitor-stream.repository';
import { DEBOUNCE_SECONDS, runMonitorUpdateJob, startMonitorWorker } from './monitor.job';
import { monitorRequestsSettled } from './monitor-request';
import { type ProcessOutcome, processStream } from './monitor.service';

const PROJECT = 'bugs';
const MODEL = 'bug-net';
/** Past the hold-back: every event synced so far is old enough to read. */
const later = () => new Date(Date.now() + 60_000);

type Processed = Extract<ProcessOutcome, { status: 'processed' }>;
function processed(outcome: ProcessOutcome): Processed {
  if (outcome.status !== 'processed') throw new Error(`expected processed, got ${JSON.stringify(outcome)}`);
  return outcome;
}

describe.each(DATABASES)('stream monitors on $kind', ({ kind, skip }) => {
  let hub: TestHub;
  let profile: ReferenceProfile;
  let projectId: string;
  /** Model version ids by version number: 1 monitored end to end, 2 for cursor and lock checks, 3 without a profile. */
  const versionIds: Record<number, string> = {};
  const phones = new Map<string, Awaited<ReturnType<TestHub['withSecret']>>>();

  /** A device caller per name (each a token of its own: events without deviceId count per sender). */
  async function phone(name: string) {
    if (!phones.has(name)) {
      const { secret } = await createToken(hub.deps, { name, role: 'device', createdBy: 'test', projects: [PROJECT] });
      phones.set(name, await hub.withSecret(secret));
    }
    return phones.get(name)!;
  }

  /**
   * Syncs the events round-robin from `devices` phones, 5 per call, as many devices sending at once would. Each
   * call's events count for one device (its token), and the device cap admits a device's share of the window only.
   */
  async function syncFrom(devices: string[], events: PredictionEvent[]): Promise<void> {
    for (let i = 0, call = 0; i < events.length; i += 5, call++) {
      const result = await (await phone(devices[call % devices.length]!)).feedback.syncPredictions({ project: PROJECT, predictions: events.slice(i, i + 5) });
      expect(result.rejected).toEqual([]);
    }
  }

  const streamOf = (version: number) => streams.getOrCreate(hub.deps.db, { projectId, modelVersionId: versionIds[version]!, channel: 'production' });

  beforeAll(async () => {
    if (skip) return;
    hub = await createTestHub(kind);
    await (await hub.as('admin')).projects.create({ slug: PROJECT, labels: [...SYNTHETIC_LABELS] });
    projectId = (await getProject(hub.deps, PROJECT)).id;
    for (const version of [1, 2, 3]) await publishedVersion(hub.deps, PROJECT, MODEL, version);
    for (const row of await models.versionIdsOf(hub.deps.db, projectId, [MODEL])) versionIds[row.version] = row.id;
    profile = syntheticProfile();
    await storeProfile(hub.deps, versionIds[1]!, profile);
    await storeProfile(hub.deps, versionIds[2]!, profile);
  }, 120_000);
  afterAll(() => hub?.close());

  it.skipIf(skip)('asks for one debounced update per stream however many sync calls arrive', async () => {
    const before = await hub.deps.queue.getQueueSize(QUEUES.monitorUpdate);
    const draws = drawSynthetic(11, 200);
    const started = Date.now();
    await syncFrom(['phone-a', 'phone-b'], predictionEvents(draws, { model: MODEL, version: 3 }));
    await monitorRequestsSettled(hub.deps);
    const seconds = (Date.now() - started) / 1000;
    // 40 calls for one stream: one job per DEBOUNCE_SECONDS slot the burst touched, and one for the slot after.
    const queued = (await hub.deps.queue.getQueueSize(QUEUES.monitorUpdate)) - before;
    expect(queued).toBeGreaterThanOrEqual(1);
    expect(queued).toBeLessThanOrEqual(Math.ceil(seconds / DEBOUNCE_SECONDS) + 2);
    expect(queued).toBeLessThan(40 / 4);
  });

  it.skipIf(skip)('waits without a ready profile: the cursor stays and the profile is asked for', async () => {
    const stream = await streamOf(3);
    const outcome = await processStream(hub.deps, stream.id, { now: later() });
    expect(outcome).toMatchObject({ status: 'waiting-for-profile', profile: 'computing' });
    const after = await streams.findById(hub.deps.db, stream.id);
    expect(after).toMatchObject({ events: 0, cursor: null, revision: 0 });
  });

  it.skipIf(skip)('stays quiet on in-distribution events, then opens an alert saying what moved when a class disappears', async () => {
    const devices = Array.from({ length: 24 }, (_, i) => `phone-${i}`);
    await syncFrom(devices, predictionEvents(drawSynthetic(21, 600), { model: MODEL, version: 1 }));
    const job = { projectId, modelVersionId: versionIds[1]!, channel: 'production' };
    const quiet = processed(await runMonitorUpdateJob(hub.deps, job, { now: later() }));
    expect(quiet).toMatchObject({ events: 600, skipped: 0, opened: [], more: false, pending: false });
    expect(quiet.admitted).toBeGreaterThan(150);

    const engineer = await hub.as('engineer');
    const calm = await engineer.monitoring.state({ project: PROJECT });
    const stream = calm.streams.find((s) => s.version === 1)!;
    expect(stream).toMatchObject({ model: MODEL, channel: 'production', events: 600, openAlerts: [] });
    expect(stream.detectors.map((d) => d.detector)).toEqual(['classMix', 'confidence', 'embedding']);
    expect(stream.detectors.every((d) => d.value < d.threshold)).toBe(true);
    expect(stream.lastDay.events).toBe(600);
    expect(stream.lastDay.classCounts.reduce((s, n) => s + n, 0)).toBe(600);
    // Rollups hold processed events only: the stream without a profile has none yet.
    expect(calm.lastDay.backends).toEqual([{ key: 'webgpu', events: 600 }]);

    // Each processed prediction got its review decision (default rate 5%: about 30 of 600 queued), and labels given
    // through the queue count in the stream's accuracy from reviews.
    expect(stream.reviews).toMatchObject({ policy: expect.stringMatching(/^margin-focus-poisson\/v2/), labels: 0, ipw: null });
    expect(stream.reviews.pending).toBeGreaterThan(5);
    expect(stream.reviews.pending).toBeLessThan(100);
    const labeler = await hub.as('labeler');
    const { reviews } = await labeler.feedback.nextReviews({ project: PROJECT, limit: 50 });
    expect(reviews).toHaveLength(stream.reviews.pending);
    const answered = await labeler.feedback.syncCorrections({
      project: PROJECT,
      corrections: reviews.map((r) => ({ id: crypto.randomUUID(), predictionId: r.predictionId, assignmentId: r.assignmentId, label: r.label, createdAt: new Date().toISOString() })),
    });
    expect(answered).toMatchObject({ inserted: reviews.length, rejected: [] });
    const reviewed = (await engineer.monitoring.state({ project: PROJECT })).streams.find((s) => s.version === 1)!.reviews;
    expect(reviewed).toMatchObject({ labels: reviews.length, confirmations: reviews.length, pending: 0 });
    expect(reviewed.ipw!.estimate).toBe(1);
    expect(reviewed.ppi).not.toBeNull();

    // The shift: no more "cat", from phones the stream has not seen.
    const shiftedDevices = Array.from({ length: 24 }, (_, i) => `new-phone-${i}`);
    await syncFrom(shiftedDevices, predictionEvents(drawSynthetic(22, 600, { priors: [0.5, 0.5, 0] }), { model: MODEL, version: 1 }));
    const shifted = processed(await runMonitorUpdateJob(hub.deps, job, { now: later() }));
    expect(shifted.events).toBe(600);
    expect(shifted.opened.map((a) => a.detector)).toContain('classMix');

    const [alert] = await engineer.monitoring.alerts({ project: PROJECT, status: 'open', limit: 10 }).then((all) => all.filter((a) => a.detector === 'classMix'));
    expect(alert).toMatchObject({ model: MODEL, version: 1, channel: 'production', status: 'open', resolvedAt: null });
    expect(alert!.statistic).toBeGreaterThan(alert!.threshold);
    expect(alert!.explanation.effect).toMatch(/total variation/);
    // At the alarm "cat" is under its reference share; whether it is already significant (Benjamini-Hochberg) depends
    // on how far into the window the shift is when the statistic crosses a threshold drawn from the profile's seed
    // (its model version's random id). After all 600 shifted events it is.
    const catAtAlarm = alert!.explanation.moved.classMix.classes.find((c) => c.label === 'cat')!;
    expect(catAtAlarm.observed).toBeLessThan(catAtAlarm.expected);
    expect(catAtAlarm.change).not.toBe('rose');
    const latest = (await engineer.monitoring.state({ project: PROJECT })).streams.find((s) => s.version === 1)!.snapshot!;
    expect(latest.classMix.classes.find((c) => c.label === 'cat')!.change).toBe('fell');
    // The new phones are over-represented in the window against the stream's history.
    const { contributors } = alert!.explanation;
    // The window is the last 300 events at the alarm; the history every event before it (600 in-distribution ones and
    // the shifted ones before the window).
    expect(contributors.windowEvents).toBe(300);
    expect(contributors.windowEvents + contributors.historyEvents).toBeGreaterThan(600);
    expect(contributors.devices.length).toBeGreaterThan(0);
    expect(contributors.devices.every((d) => d.key.startsWith('new-phone-') && d.windowShare > d.historyShare)).toBe(true);

    const state = await engineer.monitoring.state({ project: PROJECT });
    expect(state.streams.find((s) => s.version === 1)!.openAlerts.map((a) => a.id)).toContain(alert!.id);
    // What `edgeloop monitor` prints: the alarm, the class that fell, who contributed.
    const printed = formatMonitorState(state);
    expect(printed).toMatch(/^bug-net v1 \(production\): 1,200 events/m);
    expect(printed).toMatch(/^ {4}cat +\d+\.\d% +\d+\.\d% +fell$/m);
    expect(printed).toMatch(/^ {4}classMix since .*\n.*total variation.*\n {6}contributors: devices new-phone-/m);
    const series = await engineer.monitoring.series({ project: PROJECT, model: MODEL, version: 1, detector: 'classMix', maxPoints: 20 });
    expect(series.length).toBeGreaterThan(10);
    expect(series.length).toBeLessThanOrEqual(20);
    expect(series.map((p) => p.eventIndex)).toEqual([...series.map((p) => p.eventIndex)].sort((a, b) => a - b));
    // Downsampling keeps the peak: the series' largest value is the largest stored.
    const full = await engineer.monitoring.series({ project: PROJECT, model: MODEL, version: 1, detector: 'classMix', maxPoints: 2000 });
    expect(full.length).toBeGreaterThan(series.length);
    expect(Math.max(...series.map((p) => p.value))).toBe(Math.max(...full.map((p) => p.value)));
  });

  it.skipIf(skip)('resolves the alert once its statistic has stayed below its threshold for a window of events', async () => {
    const [open] = await (await hub.as('ci')).monitoring.alerts({ project: PROJECT, status: 'open', limit: 10 }).then((all) => all.filter((a) => a.detector === 'classMix'));
    expect(open).toBeDefined();
    // Back to the reference mix, from 40 installations (device ids), stored directly: the API is not the point here.
    const rows = predictionRows(drawSynthetic(61, 1200), {
      projectId,
      modelVersionId: versionIds[1]!,
      sender: () => ({ deviceId: `install-${crypto.randomInt(40)}` }),
      latencyMs: () => 2,
    });
    await feedbackStore.insertPredictionRows(hub.deps.db, rows);
    const outcome = processed(await runMonitorUpdateJob(hub.deps, { projectId, modelVersionId: versionIds[1]!, channel: 'production' }, { now: later() }));
    expect(outcome.events).toBe(1200);
    expect(outcome.resolved).toContain(open!.id);
    const [resolved] = await (await hub.as('ci')).monitoring.alerts({ project: PROJECT, status: 'resolved', limit: 10 }).then((all) => all.filter((a) => a.id === open!.id));
    expect(resolved).toMatchObject({ status: 'resolved' });
    expect(Date.parse(resolved!.resolvedAt!)).toBeGreaterThan(Date.parse(resolved!.openedAt));
    // Resolved after a full window below the threshold, not at the first point below it.
    const series = await (await hub.as('ci')).monitoring.series({ project: PROJECT, model: MODEL, version: 1, detector: 'classMix', maxPoints: 2000 });
    const lastAbove = Math.max(...series.filter((p) => p.value >= p.threshold).map((p) => p.eventIndex));
    const stream = (await (await hub.as('ci')).monitoring.state({ project: PROJECT })).streams.find((s) => s.version === 1)!;
    expect(stream.admitted - lastAbove).toBeGreaterThanOrEqual(300);
    expect(stream.openAlerts.filter((a) => a.detector === 'classMix')).toEqual([]);
  });

  it.skipIf(skip)('processes each event exactly once when two updates run at once, in transactions of `limit`', async () => {
    const draws = drawSynthetic(31, 450);
    await syncFrom(Array.from({ length: 24 }, (_, i) => `phone-${i}`), predictionEvents(draws, { model: MODEL, version: 2 }));
    const stream = await streamOf(2);
    const run = async () => {
      let total = 0;
      for (;;) {
        const outcome = processed(await processStream(hub.deps, stream.id, { now: later(), limit: 100 }));
        total += outcome.events;
        if (!outcome.more) return total;
      }
    };
    const [a, b] = await Promise.all([run(), run()]);
    expect(a + b).toBe(450);
    const again = processed(await processStream(hub.deps, stream.id, { now: later() }));
    expect(again.events).toBe(0);
    const stored = await streams.findById(hub.deps.db, stream.id);
    expect(stored!.events).toBe(450);
    const totals = await rollups.totals(hub.deps.db, { streamIds: [stream.id], from: new Date(0), to: later() });
    expect(totals.get(stream.id)!.events).toBe(450);
    expect(totals.get(stream.id)!.classCounts.reduce((s, n) => s + n, 0)).toBe(450);
  });

  it.skipIf(skip)('holds back events younger than the hold-back, so one whose transaction commits late is not skipped', async () => {
    const stream = await streamOf(2);
    const before = (await streams.findById(hub.deps.db, stream.id))!.events;
    const [early, late] = predictionRows(drawSynthetic(41, 2), { projectId, modelVersionId: versionIds[2]!, sender: (i) => ({ sentBy: `late-${i}` }) });
    if (kind === 'postgres') {
      // A sync transaction stamps its events when it begins (now()) and commits later; meanwhile another commits.
      await hub.deps.db.transaction(async (tx) => {
        await feedbackStore.insertPredictionRows(tx, [early!]);
        await feedbackStore.insertPredictionRows(hub.deps.db, [late!]);
        // The update runs now: the committed event is younger than the hold-back, so the cursor does not pass the
        // uncommitted one's stamp.
        const outcome = processed(await processStream(hub.deps, stream.id));
        expect(outcome).toMatchObject({ events: 0, pending: true });
      });
    } else {
      await feedbackStore.insertPredictionRows(hub.deps.db, [early!, late!]);
      expect(processed(await processStream(hub.deps, stream.id))).toMatchObject({ events: 0, pending: true });
    }
    const outcome = processed(await processStream(hub.deps, stream.id, { now: later() }));
    expect(outcome).toMatchObject({ events: 2, pending: false });
    expect((await streams.findById(hub.deps.db, stream.id))!.events).toBe(before + 2);
  });

  it.skipIf(skip)('counts events it cannot read (an embedding of another size) in rollups without feeding them to the detectors', async () => {
    const stream = await streamOf(2);
    const [draw] = drawSynthetic(51, 1);
    const event = predictionEvents([{ ...draw!, embedding: [...draw!.embedding, 1] }], { model: MODEL, version: 2 });
    expect(event[0]!.embedding.length).toBe(SYNTHETIC_DIM + 1);
    await syncFrom(['phone-0'], event);
    expect(processed(await processStream(hub.deps, stream.id, { now: later() }))).toMatchObject({ events: 1, skipped: 1, admitted: 0 });
  });

  it.skipIf(skip)('has the monitor worker take the job a sync sends and process the events once they are old enough', { timeout: 60_000 }, async () => {
    const stream = await streamOf(2);
    const before = (await streams.findById(hub.deps.db, stream.id))!.events;
    const worker = await startMonitorWorker(hub.deps, { name: 'test-monitor' });
    try {
      await syncFrom(['phone-0'], predictionEvents(drawSynthetic(71, 5), { model: MODEL, version: 2 }));
      // The first job finds them younger than the hold-back and sends itself again for when they are not.
      const deadline = Date.now() + 45_000;
      while ((await streams.findById(hub.deps.db, stream.id))!.events < before + 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
      expect((await streams.findById(hub.deps.db, stream.id))!.events).toBe(before + 5);
    } finally {
      await worker.stop();
    }
  });

  it.skipIf(skip)('reads and changes settings, naming the field of a bad value', async () => {
    const engineer = await hub.as('engineer');
    expect(await engineer.monitoring.settings.get({ project: PROJECT })).toEqual({
      minTotalVariation: 0.05,
      minAccuracyDrop: 1,
      deviceCap: 0.1,
      reviewRate: 0.05,
      uniformShare: 0.35,
      webhookUrl: null,
      updatedBy: null,
      updatedAt: null,
    });
    const set = await engineer.monitoring.settings.set({ project: PROJECT, minTotalVariation: 0.1, webhookUrl: 'https://hooks.example.com/edgeloop' });
    expect(set).toMatchObject({ minTotalVariation: 0.1, minAccuracyDrop: 1, webhookUrl: 'https://hooks.example.com/edgeloop', updatedBy: 'test-engineer' });
    expect(await engineer.monitoring.settings.set({ project: PROJECT, deviceCap: 0.5, webhookUrl: null })).toMatchObject({ minTotalVariation: 0.1, deviceCap: 0.5, webhookUrl: null });
    expect(await refusal(engineer.monitoring.settings.set({ project: PROJECT, minTotalVariation: 2 }))).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/^minTotalVariation: /) });
    expect(await refusal(engineer.monitoring.settings.set({ project: PROJECT, uniformShare: 0.05 }))).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/^uniformShare: /) });
    expect(await refusal(engineer.monitoring.settings.set({ project: PROJECT, webhookUrl: 'ftp://example.com/x' }))).toMatchObject({
      code: 'BAD_REQUEST',
      message: 'webhookUrl: webhookUrl must be an http or https URL, such as https://hooks.example.com/edgeloop',
    });
    await engineer.monitoring.settings.set({ project: PROJECT, minTotalVariation: 0.05, deviceCap: 0.1 });
  });

  it.skipIf(skip)('refuses bad series and alerts inputs naming the field and the valid values', async () => {
    const ci = await hub.as('ci');
    expect(await refusal(ci.monitoring.series({ project: PROJECT, model: MODEL, version: 1, detector: 'accuracy' as 'classMix', maxPoints: 10 }))).toEqual({
      code: 'BAD_REQUEST',
      message: 'detector: detector must be one of classMix, confidence, embedding',
    });
    expect(await refusal(ci.monitoring.series({ project: PROJECT, model: MODEL, version: 1, detector: 'classMix', maxPoints: 5000 }))).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/^maxPoints: /) });
    expect(await refusal(ci.monitoring.series({ project: PROJECT, model: MODEL, version: 9, detector: 'classMix', maxPoints: 10 }))).toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringMatching(/^no monitor stream for model "bug-net" v9 on channel "production"/),
    });
    expect(await refusal(ci.monitoring.alerts({ project: PROJECT, status: 'closed' as 'open', limit: 10 }))).toEqual({ code: 'BAD_REQUEST', message: 'status: status must be open or resolved' });
  });
});
