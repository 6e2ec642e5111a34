import crypto from 'node:crypto';
import type { PredictionEvent } from '@edgeloop/shared';
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, type TestHub, createTestHub } from '../../test/test-hub';
import { datasetVersions, modelVersions, registeredModels, runs } from '../db/schema';
import { getProject } from '../datasets/project.service';

const LABELS = ['cat', 'dog', 'bird'];

/** Rows a published model version stands on, written directly: these tests are about feedback, not training. */
async function publishedVersion(hub: TestHub, project: string, model: string, version: number): Promise<void> {
  const { id: projectId } = await getProject(hub.deps, project);
  const datasetVersionId = crypto.randomBytes(32).toString('hex');
  await hub.deps.db.insert(datasetVersions).values({ id: datasetVersionId, projectId, message: 'm', itemCount: 0, counts: {}, manifestBytes: 0, createdBy: 'test' });
  const [run] = await hub.deps.db.insert(runs).values({ projectId, datasetVersionId, status: 'succeeded', modelConfig: {}, trainConfig: {}, createdBy: 'test' }).returning();
  await hub.deps.db.insert(registeredModels).values({ projectId, name: model, createdBy: 'test' }).onConflictDoNothing();
  const [registered] = (await hub.deps.db.select().from(registeredModels)).filter((m) => m.name === model && m.projectId === projectId);
  await hub.deps.db.insert(modelVersions).values({
    modelId: registered!.id,
    version,
    runId: run!.id,
    manifestKey: `cdn/${project}/${model}/v${version}/manifest.json`,
    manifestSha256: 'a'.repeat(64),
    recommended: 'uint8',
    formats: {},
    metrics: {},
    createdBy: 'test',
  });
}

function prediction(overrides: Partial<PredictionEvent> = {}): PredictionEvent {
  return {
    id: crypto.randomUUID(),
    model: 'pets',
    version: 1,
    backend: 'webgpu',
    latencyMs: 3.5,
    top: [
      { label: 'dog', probability: 0.7 },
      { label: 'cat', probability: 0.2 },
    ],
    embedding: [0.5, -1.25, 3],
    source: 'file',
    createdAt: new Date('2026-11-20T10:00:00Z').toISOString(),
    ...overrides,
  };
}

async function rejection(call: Promise<unknown>): Promise<TRPCError> {
  const error = await call.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(TRPCError);
  return error as TRPCError;
}

describe.each(DATABASES)('feedback on $kind', ({ kind, skip }) => {
  let hub: TestHub;
  beforeAll(async () => {
    if (skip) return;
    hub = await createTestHub(kind);
    await (await hub.as('engineer')).projects.create({ slug: 'pets', labels: LABELS });
    await publishedVersion(hub, 'pets', 'pets', 1);
  });
  afterAll(() => hub?.close());

  it.skipIf(skip)('stores each prediction once however often a batch is resent, with its embedding', async () => {
    const device = await hub.as('device');
    const batch = [prediction(), prediction({ top: [{ label: 'bird', probability: 0.99 }] })];
    expect(await device.feedback.syncPredictions({ project: 'pets', predictions: batch })).toEqual({ received: 2, inserted: 2, duplicates: 0 });
    // A lost response: the device sends the same batch again, plus a new event.
    const again = [...batch, prediction()];
    expect(await device.feedback.syncPredictions({ project: 'pets', predictions: again })).toEqual({ received: 3, inserted: 1, duplicates: 2 });

    const listed = await (await hub.as('labeler')).feedback.predictions({ project: 'pets', limit: 50 });
    expect(listed.filter((p) => batch.some((b) => b.id === p.id))).toHaveLength(2);
    const bird = listed.find((p) => p.id === batch[1]!.id)!;
    expect(bird).toMatchObject({ model: 'pets', version: 1, label: 'bird', confidence: 0.99, backend: 'webgpu', sentBy: 'test-device', groundTruth: null });
  });

  it.skipIf(skip)('keeps the latest label a person gave as ground truth, and a resent correction once', async () => {
    const device = await hub.as('device');
    const labeler = await hub.as('labeler');
    const p = prediction();
    await device.feedback.syncPredictions({ project: 'pets', predictions: [p] });
    const first = { id: crypto.randomUUID(), predictionId: p.id, label: 'cat', createdAt: '2026-11-20T10:01:00Z' };
    const second = { id: crypto.randomUUID(), predictionId: p.id, label: 'bird', createdAt: '2026-11-20T10:02:00Z' };
    expect(await labeler.feedback.syncCorrections({ project: 'pets', corrections: [first] })).toEqual({ received: 1, inserted: 1, duplicates: 0 });
    expect(await labeler.feedback.syncCorrections({ project: 'pets', corrections: [first, second] })).toEqual({ received: 2, inserted: 1, duplicates: 1 });

    const listed = await labeler.feedback.predictions({ project: 'pets', limit: 50 });
    expect(listed.find((x) => x.id === p.id)!.groundTruth).toEqual({ label: 'bird', labeledBy: 'test-labeler', at: '2026-11-20T10:02:00.000Z' });
    const queue = await labeler.feedback.predictions({ project: 'pets', uncorrected: true, limit: 50 });
    expect(queue.some((x) => x.id === p.id)).toBe(false);
  });

  it.skipIf(skip)('refuses bad events with the field and the valid values, and stores nothing of that batch', async () => {
    const device = await hub.as('device');
    const labeler = await hub.as('labeler');
    const good = prediction();
    const badLabel = await rejection(device.feedback.syncPredictions({ project: 'pets', predictions: [good, prediction({ top: [{ label: 'horse', probability: 1 }] })] }));
    expect(badLabel.code).toBe('BAD_REQUEST');
    expect(badLabel.message).toBe('predictions.1.top.0.label "horse" is not a label of project "pets"; valid labels: cat, dog, bird');
    const badVersion = await rejection(device.feedback.syncPredictions({ project: 'pets', predictions: [prediction({ version: 9 })] }));
    expect(badVersion.message).toBe('predictions.0.version: model "pets" of "pets" has no version 9');
    const badBackend = await rejection(device.feedback.syncPredictions({ project: 'pets', predictions: [{ ...prediction(), backend: 'gpu' as 'webgpu' }] }));
    expect(badBackend.message).toContain('backend must be one of: webgpu, webgl, wasm, cpu, tensorflow');
    const badClock = await rejection(device.feedback.syncPredictions({ project: 'pets', predictions: [prediction({ createdAt: '0001-01-01T00:00:00Z' })] }));
    expect(badClock.message).toBe('predictions.0.createdAt: createdAt must be between 2000 and 2200');
    const unknown = await rejection(labeler.feedback.syncCorrections({ project: 'pets', corrections: [{ id: crypto.randomUUID(), predictionId: crypto.randomUUID(), label: 'cat', createdAt: '2026-11-20T10:00:00Z' }] }));
    expect(unknown.message).toMatch(/^corrections\.0\.predictionId: "pets" has no prediction [0-9a-f-]{36}; sync the prediction first$/);
    // The good event of the refused batch was not stored: the device keeps it and resends it.
    const listed = await labeler.feedback.predictions({ project: 'pets', limit: 500 });
    expect(listed.some((p) => p.id === good.id)).toBe(false);
  });

  it.skipIf(skip)('lets devices send predictions but not ground truth', async () => {
    const device = await hub.as('device');
    const p = prediction();
    await device.feedback.syncPredictions({ project: 'pets', predictions: [p] });
    const refused = await rejection(device.feedback.syncCorrections({ project: 'pets', corrections: [{ id: crypto.randomUUID(), predictionId: p.id, label: 'cat', createdAt: '2026-11-20T10:00:00Z' }] }));
    expect(refused.code).toBe('FORBIDDEN');
  });
});
