import crypto from 'node:crypto';
import { type PredictionEvent, decideReviewV2, meanMarginUncertainty, mulberry32, reviewFocusFromAlerts } from '@edgeloop/shared';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishedVersion } from '../../test/published-version';
import { SYNTHETIC_DIM, storeProfile, syntheticProfile } from '../../test/synthetic-monitor';
import { DATABASES, type TestHub, createTestHub } from '../../test/test-hub';
import { corrections, reviewAssignments } from '../db/schema';
import { getProject } from '../projects/project.service';
import * as models from '../registry/model-version.repository';
import * as assignments from './review-assignment.repository';
import { assignReviews, labelAccuracy, reviewDraw, reviewDrawSecret } from './review-assignment.service';

const LABELS = ['cat', 'dog', 'bird'];

/** A uuid (v4 layout) from seeded draws, so which events the keyed draw selects is the same on every run. */
function seededUuid(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
}

/** What the monitor hands the policy for a prediction of `cat` with probability p (and `dog` 1 − p). */
const candidate = (e: PredictionEvent) => ({
  predictionId: e.id,
  probabilities: [e.top[0]!.probability, 1 - e.top[0]!.probability, 0],
  uncertainty: 1 - e.top[0]!.probability,
  predicted: e.top[0]!.label,
  // Two installations, by the id's first digit (about half each).
  deviceKey: e.id < '8' ? 'device-1' : 'device-2',
});

/** A prediction of `cat` with probability p (and `dog` 1 − p). */
function prediction(p: number, at = '2026-11-20T10:00:00Z', id: string = crypto.randomUUID()): PredictionEvent {
  return {
    id,
    model: 'mm',
    version: 1,
    backend: 'wasm',
    latencyMs: 2,
    top: [
      { label: 'cat', probability: p },
      { label: 'dog', probability: 1 - p },
    ],
    embedding: [0.25, -1],
    source: 'file',
    createdAt: at,
  };
}

describe.each(DATABASES)('review assignments on $kind', ({ kind, skip }) => {
  let hub: TestHub;
  beforeAll(async () => {
    if (!skip) hub = await createTestHub(kind);
  });
  afterAll(() => hub?.close());

  /** A project with a published version of model `mm`, and `events` synced by a device. */
  async function projectWith(slug: string, events: PredictionEvent[]) {
    await (await hub.as('engineer')).projects.create({ slug, labels: LABELS });
    await publishedVersion(hub.deps, slug, 'mm', 1);
    const device = await hub.as('device', { projects: [slug] });
    for (let at = 0; at < events.length; at += 100) {
      const result = await device.feedback.syncPredictions({ project: slug, predictions: events.slice(at, at + 100) });
      expect(result.rejected).toEqual([]);
    }
    const projectId = (await getProject(hub.deps, slug)).id;
    const [version] = await models.versionIdsOf(hub.deps.db, projectId, ['mm']);
    return { projectId, modelVersionId: version!.id };
  }

  it.skipIf(skip)('queues exactly the events whose keyed draw falls under π, uniform ones under r·ε, each decided once', async () => {
    const random = mulberry32(31);
    const events = Array.from({ length: 600 }, () => prediction(0.3 + 0.7 * random()));
    const { projectId, modelVersionId } = await projectWith('policy', events);
    const settings = { reviewRate: 0.2, uniformShare: 0.35 };
    const secret = await reviewDrawSecret(hub.deps.keys, projectId);
    // The same secret every time (every hub process derives it alike), another for another project.
    expect(await reviewDrawSecret(hub.deps.keys, projectId)).toEqual(secret);
    expect(Buffer.from(await reviewDrawSecret(hub.deps.keys, crypto.randomUUID())).equals(Buffer.from(secret))).toBe(false);

    // An open alert names device-1 (half the window): its events weigh 3/2, the others 1/2.
    const focus = reviewFocusFromAlerts([{ moved: { classMix: { classes: [] } }, contributors: { devices: [{ key: 'device-1', windowShare: 0.5 }] } }]);
    const input = { projectId, modelVersionId, settings, meanUncertainty: 0.2, secret, focus, events: events.map(candidate) };
    const inserted = await assignReviews(hub.deps.db, input);
    const rows = await hub.deps.db.select().from(reviewAssignments).where(eq(reviewAssignments.projectId, projectId));
    expect(rows).toHaveLength(inserted);
    const expected = events.flatMap((e) => {
      const d = decideReviewV2(candidate(e), reviewDraw(secret, e.id), meanMarginUncertainty(0.2), focus, settings);
      return d.selected ? [{ predictionId: e.id, component: d.component, inclusionProbability: d.inclusionProbability }] : [];
    });
    expect(inserted).toBe(expected.length);
    expect(inserted).toBeGreaterThan(60); // ~20% of 600
    const byPrediction = new Map(rows.map((r) => [r.predictionId, r]));
    for (const e of expected) {
      const row = byPrediction.get(e.predictionId)!;
      expect(row).toMatchObject({ component: e.component, modelVersionId, status: 'queued', policy: 'margin-focus-poisson/v2 r=0.2 e=0.35' });
      expect(row.inclusionProbability).toBeCloseTo(e.inclusionProbability, 12);
    }
    expect(rows.some((r) => r.component === 'uniform') && rows.some((r) => r.component === 'uncertainty')).toBe(true);
    // The device the alert names is reviewed more often.
    const share = (device: string) => expected.filter((x) => candidate(events.find((e) => e.id === x.predictionId)!).deviceKey === device).length / events.filter((e) => candidate(e).deviceKey === device).length;
    expect(share('device-1')).toBeGreaterThan(share('device-2'));
    // Processing the same events again (a retried job) decides nothing new.
    expect(await assignReviews(hub.deps.db, input)).toBe(0);
  });

  it.skipIf(skip)('spreads a batch over different-looking pictures (k-center on the profile\'s PCA projection) instead of near-copies', async () => {
    // 24 near-copies of one doubtful picture (cluster 0, the most uncertain) and 4 more clusters of 4, a little less doubtful.
    const random = mulberry32(77);
    const centres = Array.from({ length: 5 }, (_, c) => Array.from({ length: SYNTHETIC_DIM }, (_, j) => (c === 0 ? 0 : 6 * Math.sin(3 * c + j) + (j === c ? 8 : 0))));
    const members = [24, 4, 4, 4, 4].flatMap((n, c) => Array.from({ length: n }, () => c));
    const events = members.map((c) => ({ ...prediction(0.6), embedding: centres[c]!.map((v) => v + 0.01 * (random() - 0.5)) }));
    const { projectId, modelVersionId } = await projectWith('spread', events);
    await storeProfile(hub.deps, modelVersionId, syntheticProfile());
    await assignments.insertMany(
      hub.deps.db,
      events.map((e, i) => ({
        projectId,
        modelVersionId,
        predictionId: e.id,
        policy: 'margin-focus-poisson/v2 r=0.05 e=0.35',
        component: 'uncertainty' as const,
        inclusionProbability: 0.2,
        uncertainty: (members[i] === 0 ? 0.8 : 0.5) + 0.1 * random(),
      })),
    );
    const clusterOf = new Map(events.map((e, i) => [e.id, members[i]!]));
    const { reviews } = await (await hub.as('labeler', { projects: ['spread'] })).feedback.nextReviews({ project: 'spread', limit: 5 });
    // Uncertainty alone would give five near-copies of cluster 0; the batch starts there and covers every cluster.
    expect(clusterOf.get(reviews[0]!.predictionId)).toBe(0);
    expect(new Set(reviews.map((r) => clusterOf.get(r.predictionId))).size).toBe(5);
  }, 120_000);

  it.skipIf(skip)('gives labelers the most uncertain first with the oldest uniform pick at every 3rd slot, and the rest to the next labeler', async () => {
    const events = Array.from({ length: 13 }, () => prediction(0.9));
    const { projectId, modelVersionId } = await projectWith('order', events);
    const row = (i: number, component: 'uniform' | 'uncertainty', uncertainty: number) => ({
      projectId,
      modelVersionId,
      predictionId: events[i]!.id,
      policy: 'uncertainty-poisson/v1 r=0.05 e=0.35',
      component,
      inclusionProbability: 0.1,
      uncertainty,
    });
    // Uniform ones first and one by one, so "oldest" is well defined; they are among the least uncertain.
    for (const i of [10, 11, 12]) await assignments.insertMany(hub.deps.db, [row(i, 'uniform', 0.01 * (i - 9))]);
    await assignments.insertMany(hub.deps.db, Array.from({ length: 10 }, (_, i) => row(i, 'uncertainty', 0.1 * (i + 1))));

    const labeler = await hub.as('labeler', { projects: ['order'] });
    const first = await labeler.feedback.nextReviews({ project: 'order', limit: 9 });
    expect(first.policy).toBe('margin-focus-poisson/v2');
    const name = (r: { predictionId: string }) => events.findIndex((e) => e.id === r.predictionId);
    // Uncertainty 1.0, 0.9, uniform #10, 0.8, 0.7, uniform #11, 0.6, 0.5, uniform #12.
    expect(first.reviews.map(name)).toEqual([9, 8, 10, 7, 6, 11, 5, 4, 12]);
    expect(first.reviews.map((r) => r.component)).toEqual(['uncertainty', 'uncertainty', 'uniform', 'uncertainty', 'uncertainty', 'uniform', 'uncertainty', 'uncertainty', 'uniform']);
    expect(first.reviews[0]).toMatchObject({ label: 'cat', confidence: 0.9, model: 'mm', version: 1, createdAt: '2026-11-20T10:00:00.000Z' });
    const shown = await hub.deps.db.select().from(reviewAssignments).where(eq(reviewAssignments.status, 'shown'));
    expect(shown.filter((r) => r.projectId === projectId).map((r) => r.shownTo)).toEqual(Array(9).fill('test-labeler'));
    // Asking again shows the same labeler what it has not labelled yet; another one gets the rest.
    expect((await labeler.feedback.nextReviews({ project: 'order', limit: 9 })).reviews.map(name)).toEqual([9, 8, 10, 7, 6, 11, 5, 4, 12]);
    // A device asks only among the predictions it holds (#12 is the first labeler's for now).
    const admin = await hub.as('admin');
    const among = [0, 1, 12].map((i) => events[i]!.id);
    expect((await admin.feedback.nextReviews({ project: 'order', limit: 50, predictionIds: among })).reviews.map(name)).toEqual([1, 0]);
    const engineer = await hub.as('engineer');
    expect((await engineer.feedback.nextReviews({ project: 'order', limit: 50 })).reviews.map(name)).toEqual([3, 2]);
    await expect(labeler.feedback.nextReviews({ project: 'order', limit: 51 })).rejects.toThrow(/limit: at most 50/);
  });

  it.skipIf(skip)('stores the assignment a label answers and marks it labeled; refuses one of another prediction or project, naming the field', async () => {
    const events = [prediction(0.6), prediction(0.7)];
    const own = await projectWith('answers', events);
    const otherEvents = [prediction(0.5)];
    const other = await projectWith('answers-other', otherEvents);
    const assign = (p: { projectId: string; modelVersionId: string }, e: PredictionEvent) => ({
      ...p,
      predictionId: e.id,
      policy: 'uncertainty-poisson/v1 r=0.05 e=0.35',
      component: 'uncertainty' as const,
      inclusionProbability: 0.2,
      uncertainty: 0.4,
    });
    await assignments.insertMany(hub.deps.db, [assign(own, events[0]!), assign(own, events[1]!), assign(other, otherEvents[0]!)]);
    const idOf = async (predictionId: string) => (await hub.deps.db.select().from(reviewAssignments).where(eq(reviewAssignments.predictionId, predictionId)))[0]!;
    const [mine, sibling, foreign] = [await idOf(events[0]!.id), await idOf(events[1]!.id), await idOf(otherEvents[0]!.id)];

    const labeler = await hub.as('labeler', { projects: ['answers'] });
    const label = (assignmentId: string | undefined, predictionId = events[0]!.id) => ({ id: crypto.randomUUID(), predictionId, label: 'dog', createdAt: '2026-11-20T10:05:00Z', assignmentId });
    const refused = await labeler.feedback.syncCorrections({
      project: 'answers',
      corrections: [label(foreign.id), label(sibling.id), label('not-a-uuid'), label(crypto.randomUUID())],
    });
    expect(refused.inserted).toBe(0);
    expect(refused.rejected.map((r) => r.reason)).toEqual([
      `assignmentId: "answers" has no review assignment ${foreign.id} for prediction ${events[0]!.id}`,
      `assignmentId: "answers" has no review assignment ${sibling.id} for prediction ${events[0]!.id}`,
      'assignmentId: assignmentId must be the id of a review assignment (feedback.nextReviews)',
      expect.stringMatching(/^assignmentId: "answers" has no review assignment /),
    ]);
    expect((await idOf(otherEvents[0]!.id)).status).toBe('queued');

    const answer = label(mine.id);
    expect(await labeler.feedback.syncCorrections({ project: 'answers', corrections: [answer] })).toMatchObject({ inserted: 1, rejected: [] });
    const stored = await hub.deps.db.select().from(corrections).where(eq(corrections.id, answer.id));
    expect(stored[0]!.assignmentId).toBe(mine.id);
    const after = await idOf(events[0]!.id);
    expect(after.status).toBe('labeled');
    expect(after.labeledAt).toBeInstanceOf(Date);
    // A label given unasked is stored without an assignment and leaves the queue's assignment alone... but the item
    // has a label now, so the queue no longer offers it.
    expect(await labeler.feedback.syncCorrections({ project: 'answers', corrections: [label(undefined, events[1]!.id)] })).toMatchObject({ inserted: 1 });
    expect((await idOf(events[1]!.id)).status).toBe('queued');
    expect((await labeler.feedback.nextReviews({ project: 'answers', limit: 10 })).reviews).toEqual([]);
  });

  it.skipIf(skip)('estimates accuracy from labels of part of the queue with an interval covering the truth, where the labeled mean is biased', async () => {
    const random = mulberry32(4242);
    const N = 1_500;
    // p = 1 − 0.6 U³: accuracy ≈ 0.85, mean uncertainty 0.15; each prediction right with probability p.
    const truths = new Map<string, boolean>();
    let expectedCorrect = 0;
    const events = Array.from({ length: N }, () => {
      const p = 1 - 0.6 * random() ** 3;
      const event = prediction(p, '2026-11-20T10:00:00Z', seededUuid(random));
      truths.set(event.id, random() < p);
      expectedCorrect += p;
      return event;
    });
    const truth = [...truths.values()].filter(Boolean).length / N;
    const { projectId, modelVersionId } = await projectWith('estimates', events);
    // A fixed secret (the hub's comes from its signing key, new in every test hub): the same events are queued on every run.
    const secret = 'a fixed review secret for this test';
    const queued = await assignReviews(hub.deps.db, {
      projectId,
      modelVersionId,
      settings: { reviewRate: 0.1, uniformShare: 0.35 },
      meanUncertainty: 0.15,
      secret,
      events: events.map(candidate),
    });
    expect(queued).toBeGreaterThan(100);

    // A labeler works through 70% of the queue in its order (doubtful first), labelling each with the truth.
    const labeler = await hub.as('labeler', { projects: ['estimates'] });
    let answered = 0;
    while (answered < 0.7 * queued) {
      const { reviews } = await labeler.feedback.nextReviews({ project: 'estimates', limit: Math.min(50, Math.ceil(0.7 * queued) - answered) });
      const labels = reviews.map((r) => ({ id: crypto.randomUUID(), predictionId: r.predictionId, assignmentId: r.assignmentId, label: truths.get(r.predictionId) ? 'cat' : 'dog', createdAt: '2026-11-20T11:00:00Z' }));
      expect((await labeler.feedback.syncCorrections({ project: 'estimates', corrections: labels })).inserted).toBe(labels.length);
      answered += labels.length;
    }

    const estimate = await labelAccuracy(hub.deps, { projectId, modelVersionId, population: { events: N, expectedCorrect } });
    console.log(`${kind}: truth ${truth.toFixed(3)}; ${estimate.labels} labels of ${queued}; naive ${estimate.naive!.estimate.toFixed(3)}; IPW ${estimate.ipw!.estimate.toFixed(3)} [${estimate.ipw!.interval.map((x) => x.toFixed(3)).join(', ')}]; PPI ${estimate.ppi!.estimate.toFixed(3)} [${estimate.ppi!.interval.map((x) => x.toFixed(3)).join(', ')}]`);
    expect(estimate).toMatchObject({ policy: 'margin-focus-poisson/v2', unusable: 0, labels: answered, pending: queued - answered, expired: 0 });
    expect(estimate.confirmations + estimate.corrections).toBe(answered);
    expect(estimate.naive!.estimate).toBeLessThan(truth - 0.05);
    expect(estimate.ipw!.interval[0]).toBeLessThanOrEqual(truth);
    expect(estimate.ipw!.interval[1]).toBeGreaterThanOrEqual(truth);
    expect(estimate.ppi!.interval[0]).toBeLessThanOrEqual(truth);
    expect(estimate.ppi!.interval[1]).toBeGreaterThanOrEqual(truth);

    // Nothing labeled in a week: the rest expire (non-response, kept); the estimate stands on the same labels.
    expect(await assignments.expireBefore(hub.deps.db, new Date(Date.now() + 60_000))).toBeGreaterThanOrEqual(queued - answered);
    expect(await labelAccuracy(hub.deps, { projectId, modelVersionId })).toMatchObject({ labels: answered, pending: 0, expired: queued - answered, ppi: null, ipw: estimate.ipw });
  });
});
