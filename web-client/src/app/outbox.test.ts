import 'fake-indexeddb/auto';
import type { CorrectionEvent, PredictionEvent } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import { type OutboxSender, RefusedByHub, enqueue, flushOutbox, outboxCounts, requeueRefused } from './outbox';

let n = 0;
function prediction(): PredictionEvent {
  n++;
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    model: 'm1',
    version: 1,
    backend: 'wasm',
    latencyMs: 1,
    top: [{ label: 'a', probability: 1 }],
    embedding: [n],
    source: 'file',
    createdAt: new Date(2026, 0, 1, 0, 0, n).toISOString(),
  };
}

/** Receives batches like the hub: keeps each id once. `failNext` drops a call before or after it is stored. */
function receiver() {
  const stored = new Map<string, PredictionEvent | CorrectionEvent>();
  const calls: string[][] = [];
  let failNext: 'request-lost' | 'response-lost' | 'refuse' | null = null;
  const take = async (events: (PredictionEvent | CorrectionEvent)[]) => {
    const failure = failNext;
    failNext = null;
    if (failure === 'request-lost') throw new TypeError('Failed to fetch');
    if (failure === 'refuse' || events.some((e) => 'label' in e && e.label === 'bad')) throw new RefusedByHub('label: "bad" is not a label of this project');
    calls.push(events.map((e) => e.id));
    for (const e of events) stored.set(e.id, e);
    if (failure === 'response-lost') throw new TypeError('network connection lost');
  };
  const sender: OutboxSender = { predictions: (_p, events) => take(events), corrections: (_p, events) => take(events) };
  return { sender, stored, calls, fail: (how: typeof failNext) => (failNext = how) };
}

describe('outbox', () => {
  it('sends in batches, oldest first, predictions before their corrections, and empties itself', async () => {
    const hub = receiver();
    const events = Array.from({ length: 7 }, prediction);
    for (const event of events) await enqueue({ kind: 'prediction', project: 'p', event });
    await enqueue({ kind: 'correction', project: 'p', event: { id: '10000000-0000-4000-8000-000000000001', predictionId: events[6]!.id, label: 'a', createdAt: events[6]!.createdAt } });
    expect((await outboxCounts()).waiting).toBe(8);

    expect(await flushOutbox(hub.sender, 3)).toBe(8);
    expect(hub.calls.map((c) => c.length)).toEqual([3, 3, 1, 1]);
    // Queued within the same millisecond, events still leave in the order they were queued.
    expect(hub.calls.flat()).toEqual([...events.map((e) => e.id), '10000000-0000-4000-8000-000000000001']);
    expect(await outboxCounts()).toEqual({ waiting: 0, refused: [] });
  });

  it('loses nothing and duplicates nothing when a sync is cut off before or after the hub stored a batch', async () => {
    const hub = receiver();
    const events = Array.from({ length: 5 }, prediction);
    for (const event of events) await enqueue({ kind: 'prediction', project: 'p', event });

    hub.fail('request-lost');
    await expect(flushOutbox(hub.sender, 2)).rejects.toThrow('Failed to fetch');
    expect((await outboxCounts()).waiting).toBe(5);

    hub.fail('response-lost'); // the hub stored the first batch but the device never heard back
    await expect(flushOutbox(hub.sender, 2)).rejects.toThrow('network connection lost');
    expect((await outboxCounts()).waiting).toBe(5);

    expect(await flushOutbox(hub.sender, 2)).toBe(5);
    expect([...hub.stored.keys()].sort()).toEqual(events.map((e) => e.id).sort());
    expect((await outboxCounts()).waiting).toBe(0);
  });

  it('sets aside only the events the hub refuses, keeping them on the device with the reason', async () => {
    const hub = receiver();
    const good = prediction();
    const bad = prediction();
    await enqueue({ kind: 'prediction', project: 'p', event: good });
    await enqueue({ kind: 'correction', project: 'p', event: { id: '10000000-0000-4000-8000-000000000002', predictionId: good.id, label: 'bad', createdAt: good.createdAt } });
    await enqueue({ kind: 'prediction', project: 'p', event: bad });

    expect(await flushOutbox(hub.sender, 10)).toBe(2);
    expect(hub.stored.has(good.id) && hub.stored.has(bad.id)).toBe(true);
    expect(await outboxCounts()).toEqual({ waiting: 0, refused: [{ id: 'correction:10000000-0000-4000-8000-000000000002', reason: 'label: "bad" is not a label of this project' }] });
    // A refused event is not sent again, until the device asks for it (a new token or project).
    hub.calls.length = 0;
    expect(await flushOutbox(hub.sender)).toBe(0);
    expect(hub.calls).toEqual([]);
    await requeueRefused();
    expect(await outboxCounts()).toEqual({ waiting: 1, refused: [] });
  });
});
