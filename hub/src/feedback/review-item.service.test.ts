import crypto from 'node:crypto';
import { DEFAULT_LABELING_SETTINGS, LABEL_OR_UNUSABLE, type PredictionEvent, splitForSha256 } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishedVersion } from '../../test/published-version';
import { DATABASES, type TestHub, createTestHub, refusal } from '../../test/test-hub';
import { encodeGreyscalePng } from '../images/png';
import { getProject } from '../projects/project.service';
import * as models from '../registry/model-version.repository';
import * as assignments from './review-assignment.repository';
import { labelAccuracy } from './review-assignment.service';
import { commitVersion, loadManifest } from '../datasets/version.service';
import { acceptedOfProject } from './review-item.repository';

const LABELS = ['cat', 'dog', 'bird'];

function prediction(label = 'cat'): PredictionEvent {
  return {
    id: crypto.randomUUID(),
    model: 'mm',
    version: 1,
    backend: 'wasm',
    latencyMs: 2,
    top: [
      { label, probability: 0.6 },
      { label: label === 'cat' ? 'dog' : 'cat', probability: 0.4 },
    ],
    embedding: [0.25, -1],
    source: 'file',
    createdAt: '2026-11-20T10:00:00Z',
  };
}

describe.each(DATABASES)('review items (images of reviewed predictions) on $kind', ({ kind, skip }) => {
  let hub: TestHub;
  let seed = 0;
  beforeAll(async () => {
    if (!skip) hub = await createTestHub(kind);
  });
  afterAll(() => hub?.close());

  /** A project with model `mm` v1 and `n` synced predictions. */
  async function project(slug: string, n = 3) {
    const admin = await hub.as('admin');
    await admin.projects.create({ slug, labels: LABELS });
    await publishedVersion(hub.deps, slug, 'mm', 1);
    const events = Array.from({ length: n }, () => prediction());
    const device = await hub.as('device', { projects: [slug] });
    expect((await device.feedback.syncPredictions({ project: slug, predictions: events })).rejected).toEqual([]);
    return { admin, events, projectId: (await getProject(hub.deps, slug)).id };
  }

  /** A caller with a token of this role and name in the project. */
  async function person(slug: string, name: string, role: 'labeler' | 'engineer' = 'labeler') {
    const { secret } = await (await hub.as('admin')).auth.createToken({ name, role, projects: [slug] });
    return hub.withSecret(secret);
  }

  type Caller = Awaited<ReturnType<typeof person>>;
  /** Uploads a distinct image as the image of a prediction (the PWA's path): createUpload, PUT, completeUpload. */
  async function shareImage(caller: Caller, slug: string, predictionId: string, label: string, source: 'review' | 'device' = 'review') {
    const bytes = Buffer.from(encodeGreyscalePng(new Uint8Array(64).fill(++seed % 256).map((v, i) => (v + i * seed) % 256), 8, 8));
    const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
    const ticket = await caller.items.createUpload({ project: slug, sha256, bytes: bytes.length, contentType: 'image/png', label });
    expect((await fetch(ticket.url, { method: 'PUT', body: new Uint8Array(bytes), headers: ticket.headers })).ok).toBe(true);
    const done = await caller.items.completeUpload({ uploadId: ticket.uploadId, predictionId, source });
    return { ...done, bytes };
  }

  const workingSet = async (slug: string) => (await (await hub.as('admin')).items.list({ project: slug })).items;

  it.skipIf(skip)('has labeling settings off by default for every role that reads them, changed by engineers', async () => {
    await project('defaults', 0);
    const device = await hub.as('device', { projects: ['defaults'] });
    expect(await device.labeling.settings.get({ project: 'defaults' })).toEqual({ ...DEFAULT_LABELING_SETTINGS, updatedBy: null, updatedAt: null });
    expect(DEFAULT_LABELING_SETTINGS).toEqual({ collectReviewedImages: false, acceptance: { agreement: 2, trustedLabelers: [] } });
    const engineer = await hub.as('engineer');
    const saved = await engineer.labeling.settings.set({ project: 'defaults', collectReviewedImages: true });
    expect(saved).toMatchObject({ collectReviewedImages: true, acceptance: { agreement: 2, trustedLabelers: [] }, updatedBy: 'test-engineer' });
    await engineer.labeling.settings.set({ project: 'defaults', acceptance: { agreement: null, trustedLabelers: ['ann'] } });
    expect(await device.labeling.settings.get({ project: 'defaults' })).toMatchObject({ collectReviewedImages: true, acceptance: { agreement: null, trustedLabelers: ['ann'] } });
    expect(await refusal(engineer.labeling.settings.set({ project: 'defaults', acceptance: { agreement: 1, trustedLabelers: [] } }))).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/^acceptance\.agreement: /) });
  });

  it.skipIf(skip)('holds an image of a prediction as pending, with the sharer label as a vote; a second agreeing labeler accepts it by rule', async () => {
    const { events, projectId } = await project('agree');
    const ann = await person('agree', 'ann');
    const bob = await person('agree', 'bob');
    const shared = await shareImage(ann, 'agree', events[0]!.id, 'dog');
    expect(shared.review).toMatchObject({ status: 'pending', label: null, rule: null });
    expect(await workingSet('agree')).toEqual([]);

    const inbox = await ann.labeling.inbox({ project: 'agree', status: 'pending' });
    expect(inbox.counts).toEqual({ pending: 1, accepted: 0, rejected: 0 });
    const [item] = inbox.items;
    expect(item).toMatchObject({ sha256: shared.sha256, predictionId: events[0]!.id, source: 'review', status: 'pending', predicted: { label: 'cat' } });
    expect(item!.votes.map((v) => [v.labeledBy, v.label])).toEqual([['ann', 'dog']]);
    // The image is readable through its presigned URL, byte for byte.
    expect(Buffer.from(await (await fetch(item!.image.url)).arrayBuffer()).equals(shared.bytes)).toBe(true);
    // Ann's queue has nothing she has not voted on; Bob's has the item.
    expect((await ann.labeling.queue({ project: 'agree' })).items).toEqual([]);
    expect((await bob.labeling.queue({ project: 'agree' })).items.map((i) => i.id)).toEqual([item!.id]);

    // Another label does not agree; Bob changing his vote to Ann's does.
    expect(await bob.labeling.vote({ project: 'agree', itemId: item!.id, label: 'bird' })).toMatchObject({ status: 'pending' });
    expect(await bob.labeling.vote({ project: 'agree', itemId: item!.id, label: 'dog' })).toEqual({ itemId: item!.id, status: 'accepted', label: 'dog', rule: 'agreement' });
    expect(await workingSet('agree')).toMatchObject([{ sha256: shared.sha256, label: 'dog', split: splitForSha256(shared.sha256), source: 'review' }]);
    const [accepted] = await acceptedOfProject(hub.deps.db, projectId);
    expect(accepted).toMatchObject({ sha256: shared.sha256, label: 'dog', predictionId: events[0]!.id, rule: 'agreement' });
    expect((await ann.labeling.inbox({ project: 'agree', status: 'accepted' })).items[0]).toMatchObject({ decidedBy: 'ann, bob', rule: 'agreement' });
    // A version committed from the working set records where the item came from and which rule accepted it.
    const { version } = await commitVersion(hub.deps, { project: 'agree', message: 'with a reviewed image', createdBy: 'test' });
    const { manifest } = await loadManifest(hub.deps, 'agree', version.id);
    expect(manifest.items.find((i) => i.sha256 === shared.sha256)).toEqual({ sha256: shared.sha256, label: 'dog', split: splitForSha256(shared.sha256), origin: { predictionId: events[0]!.id, acceptedBy: 'agreement' } });
    expect(await refusal(bob.labeling.vote({ project: 'agree', itemId: item!.id, label: 'cat' }))).toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/is accepted already/) });
  });

  it.skipIf(skip)('accepts one label of a trusted labeler at once; unusable votes accept nothing; a synced label is a vote', async () => {
    const { events } = await project('trusted');
    await (await hub.as('engineer')).labeling.settings.set({ project: 'trusted', acceptance: { agreement: 2, trustedLabelers: ['tess'] } });
    const tess = await person('trusted', 'tess');
    expect((await shareImage(tess, 'trusted', events[0]!.id, 'bird')).review).toMatchObject({ status: 'accepted', label: 'bird', rule: 'trusted-labeler' });

    const ann = await person('trusted', 'ann');
    const bob = await person('trusted', 'bob');
    const shared = await shareImage(ann, 'trusted', events[1]!.id, 'cat');
    const itemId = shared.review!.itemId;
    expect(await bob.labeling.vote({ project: 'trusted', itemId, unusable: true })).toMatchObject({ status: 'pending' });
    expect(await ann.labeling.vote({ project: 'trusted', itemId, unusable: true })).toMatchObject({ status: 'pending' });
    // Bob's label synced from his device for the same prediction replaces his unusable vote: still no two agree.
    const sync = (caller: Caller, label: string) =>
      caller.feedback.syncCorrections({ project: 'trusted', corrections: [{ id: crypto.randomUUID(), predictionId: events[1]!.id, label, createdAt: '2026-11-20T11:00:00Z' }] });
    expect((await sync(bob, 'cat')).inserted).toBe(1);
    expect((await bob.labeling.inbox({ project: 'trusted', status: 'pending' })).items[0]!.votes.map((v) => [v.labeledBy, v.label])).toEqual([['ann', null], ['bob', 'cat']]);
    expect((await sync(ann, 'cat')).inserted).toBe(1);
    expect((await bob.labeling.inbox({ project: 'trusted', status: 'accepted' })).items.map((i) => [i.label, i.rule])).toEqual([['cat', 'agreement'], ['bird', 'trusted-labeler']]);
  });

  it.skipIf(skip)('lets a person accept with a relabel or reject; rejected items never join; labelers may not decide', async () => {
    const { events, projectId } = await project('person');
    await (await hub.as('engineer')).labeling.settings.set({ project: 'person', acceptance: { agreement: null, trustedLabelers: [] } });
    const ann = await person('person', 'ann');
    const bob = await person('person', 'bob');
    const first = await shareImage(ann, 'person', events[0]!.id, 'cat');
    const second = await shareImage(ann, 'person', events[1]!.id, 'cat');
    // Bob's queue: what he has not voted on, oldest first.
    expect((await bob.labeling.queue({ project: 'person' })).items.map((i) => i.id)).toEqual([first.review!.itemId, second.review!.itemId]);
    // Agreement is off: two agreeing labels leave it pending for a person.
    expect(await bob.labeling.vote({ project: 'person', itemId: first.review!.itemId, label: 'cat' })).toMatchObject({ status: 'pending' });
    expect(await refusal(ann.labeling.decide({ project: 'person', itemId: first.review!.itemId, decision: 'accept', label: 'cat' }))).toMatchObject({ code: 'FORBIDDEN' });

    const eve = await person('person', 'eve', 'engineer');
    expect(await refusal(eve.labeling.decide({ project: 'person', itemId: first.review!.itemId, decision: 'accept' }))).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/^label: required to accept/) });
    expect(await refusal(eve.labeling.decide({ project: 'person', itemId: first.review!.itemId, decision: 'accept', label: 'fish' }))).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/^label "fish" is not a label of project "person"; valid labels: cat, dog, bird/) });
    expect(await eve.labeling.decide({ project: 'person', itemId: first.review!.itemId, decision: 'accept', label: 'dog' })).toEqual({ itemId: first.review!.itemId, status: 'accepted', label: 'dog', rule: 'person' });
    expect(await eve.labeling.decide({ project: 'person', itemId: second.review!.itemId, decision: 'reject' })).toMatchObject({ status: 'rejected', label: null });
    expect(await refusal(eve.labeling.decide({ project: 'person', itemId: second.review!.itemId, decision: 'accept', label: 'cat' }))).toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/is rejected already \(by eve\)/) });
    expect(await refusal(bob.labeling.vote({ project: 'person', itemId: second.review!.itemId, label: 'cat' }))).toMatchObject({ code: 'CONFLICT' });
    // Sharing the rejected image again finds the rejected item: it stays out.
    expect(await refusal(eve.labeling.decide({ project: 'person', itemId: crypto.randomUUID(), decision: 'reject' }))).toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/^itemId: "person" has no review item/) });

    expect((await workingSet('person')).map((i) => [i.sha256, i.label, i.source])).toEqual([[first.sha256, 'dog', 'review']]);
    expect((await acceptedOfProject(hub.deps.db, projectId)).map((a) => [a.sha256, a.rule])).toEqual([[first.sha256, 'person']]);
    const inbox = await eve.labeling.inbox({ project: 'person' });
    expect(inbox.counts).toEqual({ pending: 0, accepted: 1, rejected: 1 });
    expect(inbox.items.find((i) => i.id === second.review!.itemId)).toMatchObject({ status: 'rejected', decidedBy: 'eve', label: null });
    // Paging: one at a time, newest first, then the end.
    const page1 = await eve.labeling.inbox({ project: 'person', limit: 1 });
    const page2 = await eve.labeling.inbox({ project: 'person', limit: 1, before: page1.next! });
    expect([...page1.items, ...page2.items].map((i) => i.id).sort()).toEqual(inbox.items.map((i) => i.id).sort());
    expect((await eve.labeling.inbox({ project: 'person', limit: 1, before: page2.next! })).items).toEqual([]);
  });

  it.skipIf(skip)('takes source "device" only while the project collects images, and an image of a prediction only for a synced one', async () => {
    const { events } = await project('collect');
    const ann = await person('collect', 'ann');
    expect(await refusal(shareImage(ann, 'collect', events[0]!.id, 'cat', 'device'))).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/^source: "device" is for images the project collects/) });
    expect(await refusal(shareImage(ann, 'collect', crypto.randomUUID(), 'cat'))).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/^predictionId: "collect" has no prediction/) });
    await (await hub.as('engineer')).labeling.settings.set({ project: 'collect', collectReviewedImages: true });
    expect((await shareImage(ann, 'collect', events[0]!.id, 'cat', 'device')).review).toMatchObject({ status: 'pending' });
    expect((await ann.labeling.inbox({ project: 'collect' })).items.map((i) => i.source)).toEqual(['device']);
    // An upload without a prediction (an admin's) keeps today's path: straight into the working set.
    const admin = await hub.as('admin');
    const bytes = Buffer.from(encodeGreyscalePng(new Uint8Array(16).fill(7), 4, 4));
    const ticket = await admin.items.createUpload({ project: 'collect', sha256: crypto.createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length, contentType: 'image/png', label: 'bird', split: 'val' });
    await fetch(ticket.url, { method: 'PUT', body: new Uint8Array(bytes), headers: ticket.headers });
    expect(await admin.items.completeUpload({ uploadId: ticket.uploadId })).toMatchObject({ label: 'bird', split: 'val', review: null });
    expect((await workingSet('collect')).map((i) => [i.label, i.source])).toEqual([['bird', 'upload']]);
  });

  it.skipIf(skip)('stores "unusable" labels, refuses a label with unusable or neither, and keeps unusable out of accuracy from labels, counted apart', async () => {
    const { events, projectId } = await project('unusable', 4);
    const labeler = await hub.as('labeler', { projects: ['unusable'] });
    const [version] = await models.versionIdsOf(hub.deps.db, projectId, ['mm']);
    // Each prediction was asked about (π = 0.5), as the policy's queue would.
    await assignments.insertMany(
      hub.deps.db,
      events.map((e) => ({ projectId, predictionId: e.id, modelVersionId: version!.id, policy: 'margin-focus-poisson/v2 r=0.5 e=0.5', component: 'uniform' as const, inclusionProbability: 0.5, uncertainty: 0.4 })),
    );
    const { reviews } = await labeler.feedback.nextReviews({ project: 'unusable', limit: 10 });
    const of = (id: string) => reviews.find((r) => r.predictionId === id)!.assignmentId;
    const at = '2026-11-20T11:00:00Z';
    const result = await labeler.feedback.syncCorrections({
      project: 'unusable',
      corrections: [
        { id: crypto.randomUUID(), predictionId: events[0]!.id, unusable: true, createdAt: at, assignmentId: of(events[0]!.id) },
        { id: crypto.randomUUID(), predictionId: events[1]!.id, label: 'cat', createdAt: at, assignmentId: of(events[1]!.id) },
        { id: crypto.randomUUID(), predictionId: events[2]!.id, label: 'dog', createdAt: at, assignmentId: of(events[2]!.id) },
        { id: crypto.randomUUID(), predictionId: events[3]!.id, label: 'cat', unusable: true, createdAt: at },
        { id: crypto.randomUUID(), predictionId: events[3]!.id, createdAt: at },
      ],
    });
    expect(result).toMatchObject({ received: 5, inserted: 3 });
    expect(result.rejected.map((r) => [r.index, r.reason])).toEqual([
      [3, `label: ${LABEL_OR_UNUSABLE}`],
      [4, `label: ${LABEL_OR_UNUSABLE}`],
    ]);
    const listed = (await labeler.feedback.predictions({ project: 'unusable' })).predictions;
    expect(listed.find((p) => p.id === events[0]!.id)!.groundTruth).toMatchObject({ label: null, unusable: true, labeledBy: 'test-labeler' });
    expect(listed.find((p) => p.id === events[1]!.id)!.groundTruth).toMatchObject({ label: 'cat', unusable: false });
    const estimate = await labelAccuracy(hub.deps, { projectId, modelVersionId: version!.id });
    // Two evaluable labels (one right), one unusable (not evaluable), one still waiting.
    expect(estimate).toMatchObject({ labels: 2, unusable: 1, confirmations: 1, corrections: 1, pending: 1 });
    expect(estimate.ipw!.estimate).toBeCloseTo(0.5, 12);
  });
});
