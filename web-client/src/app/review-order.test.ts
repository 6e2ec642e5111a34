import 'fake-indexeddb/auto';
import { type CorrectionEvent, correctionEventSchema } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import type { HistoryEntry } from './local-db';
import { enqueue, flushOutbox } from './outbox';
import { type StoredReviewBatch, correctionEvent, openSlots, orderForReview } from './review-order';
import { readValue, writeValue } from './local-db';

const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const entry = (n: number): HistoryEntry => ({
  id: uuid(n),
  project: 'p',
  model: 'm1',
  version: 1,
  top: [{ label: 'a', probability: 0.5 + n / 100 }],
  backend: 'wasm',
  latencyMs: 1,
  createdAt: new Date(2026, 0, 1, 0, 0, n).toISOString(),
  thumbnail: 'data:,',
});

describe('the labeling view order', () => {
  // The device's order: newest first.
  const local = [5, 4, 3, 2, 1].map(entry);

  it("puts what the hub's queue asks about first, in its order, then the rest newest first", () => {
    const reviews = [
      { predictionId: uuid(2), assignmentId: uuid(102), component: 'uncertainty' as const },
      { predictionId: uuid(9), assignmentId: uuid(109), component: 'uncertainty' as const }, // another device's: not here
      { predictionId: uuid(4), assignmentId: uuid(104), component: 'uniform' as const },
    ];
    const ordered = orderForReview(local, reviews);
    expect(ordered.map((o) => o.entry.id)).toEqual([uuid(2), uuid(4), uuid(5), uuid(3), uuid(1)]);
    expect(ordered.map((o) => o.review?.assignmentId ?? null)).toEqual([uuid(102), uuid(104), null, null, null]);
  });

  it('keeps the local order offline (no answer from the hub) or when the queue is empty', () => {
    expect(orderForReview(local, null).map((o) => o.entry.id)).toEqual(local.map((e) => e.id));
    expect(orderForReview(local, []).every((o) => o.review === undefined)).toBe(true);
  });

  it('sends the assignment a label answers with the correction, and none for a label given unasked', async () => {
    const asked = correctionEvent({ id: uuid(201), predictionId: uuid(2), label: 'b', at: '2026-01-01T00:01:00.000Z', assignmentId: uuid(102) });
    const unasked = correctionEvent({ id: uuid(203), predictionId: uuid(3), label: 'a', at: '2026-01-01T00:01:00.000Z' });
    expect(correctionEventSchema.parse(asked).assignmentId).toBe(uuid(102));
    expect('assignmentId' in unasked).toBe(false);

    // Through the outbox, as the hub receives it.
    await enqueue({ kind: 'correction', project: 'p', event: asked });
    await enqueue({ kind: 'correction', project: 'p', event: unasked });
    const sent: CorrectionEvent[] = [];
    await flushOutbox({
      predictions: async (_p, events) => ({ received: events.length, inserted: events.length, duplicates: 0, rejected: [] }),
      corrections: async (_p, events) => {
        sent.push(...events);
        return { received: events.length, inserted: events.length, duplicates: 0, rejected: [] };
      },
    });
    expect(sent.map((e) => [e.id, e.assignmentId ?? null])).toEqual([
      [uuid(201), uuid(102)],
      [uuid(203), null],
    ]);
  });

  it('sends "none of these labels / unusable" as unusable with no label, which the hub schema takes', () => {
    const unusable = correctionEvent({ id: uuid(301), predictionId: uuid(3), label: null, at: '2026-01-01T00:01:00.000Z', assignmentId: uuid(103) });
    expect(unusable).toEqual({ id: uuid(301), predictionId: uuid(3), unusable: true, createdAt: '2026-01-01T00:01:00.000Z', assignmentId: uuid(103) });
    expect(correctionEventSchema.safeParse(unusable).success).toBe(true);
    expect(correctionEventSchema.safeParse({ ...unusable, label: 'a' }).success).toBe(false);
  });

  it("keeps the hub's batch in IndexedDB and follows it offline, dropping what was labelled since", async () => {
    const batch: StoredReviewBatch = {
      project: 'p',
      takenAt: 1,
      reviews: [
        { predictionId: uuid(2), assignmentId: uuid(102), component: 'uncertainty' },
        { predictionId: uuid(4), assignmentId: uuid(104), component: 'uniform' },
      ],
    };
    await writeValue('review-batch', batch);
    const kept = await readValue<StoredReviewBatch>('review-batch');
    const slots = openSlots(kept, 'p', new Set([uuid(2)]));
    expect(slots).toEqual([batch.reviews[1]]);
    expect(orderForReview(local, slots).map((o) => o.entry.id)).toEqual([uuid(4), uuid(5), uuid(3), uuid(2), uuid(1)]);
    // Another project's batch is not followed.
    expect(openSlots(kept, 'q', new Set())).toBeNull();
    expect(openSlots(undefined, 'p', new Set())).toBeNull();
  });
});
