import 'fake-indexeddb/auto';
import type { CorrectionEvent, PredictionEvent, SyncResult } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import { localDb } from './local-db';
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

/**
 * Receives batches like the hub: keeps each id once, answers per event (rejecting the label "bad"). `failNext` drops a
 * call before or after it is stored, or refuses the whole call (as the hub does with a body over its limit).
 */
function receiver() {
  const stored = new Map<string, PredictionEvent | CorrectionEvent>();
  const calls: string[][] = [];
  let failNext: 'request-lost' | 'response-lost' | 'refuse' | null = null;
  const take = async (events: (PredictionEvent | CorrectionEvent)[]): Promise<SyncResult> => {
    const failure = failNext;
    failNext = null;
    if (failure === 'request-lost') throw new TypeError('Failed to fetch');
    if (failure === 'refuse') throw new RefusedByHub('request body larger than the limit');
    calls.push(events.map((e) => e.id));
    const rejected = events.flatMap((e, index) => ('label' in e && e.label === 'bad' ? [{ id: e.id, index, reason: `corrections.${index}.label: "bad" is not a label of this project` }] : []));
    const accepted = events.filter((e) => !rejected.some((r) => r.id === e.id));
    const inserted = accepted.filter((e) => !stored.has(e.id)).length;
    for (const e of accepted) stored.set(e.id, e);
    if (failure === 'response-lost') throw new TypeError('network connection lost');
    return { received: events.length, inserted, duplicates: accepted.length - inserted, rejected };
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

  it('sets aside only the events the hub rejects, keeping them on the device with the reason', async () => {
    const hub = receiver();
    const good = prediction();
    const other = prediction();
    await enqueue({ kind: 'prediction', project: 'p', event: good });
    await enqueue({ kind: 'correction', project: 'p', event: { id: '10000000-0000-4000-8000-000000000002', predictionId: good.id, label: 'bad', createdAt: good.createdAt } });
    await enqueue({ kind: 'correction', project: 'p', event: { id: '10000000-0000-4000-8000-000000000003', predictionId: good.id, label: 'a', createdAt: good.createdAt } });
    await enqueue({ kind: 'prediction', project: 'p', event: other });

    expect(await flushOutbox(hub.sender, 10)).toBe(3);
    expect([...hub.stored.keys()].sort()).toEqual([good.id, other.id, '10000000-0000-4000-8000-000000000003'].sort());
    expect(await outboxCounts()).toEqual({ waiting: 0, refused: [{ id: 'correction:10000000-0000-4000-8000-000000000002', reason: 'corrections.0.label: "bad" is not a label of this project' }] });
    // A refused event is not sent again, until the device asks for it (a new token or project).
    hub.calls.length = 0;
    expect(await flushOutbox(hub.sender)).toBe(0);
    expect(hub.calls).toEqual([]);
    await requeueRefused();
    expect(await outboxCounts()).toEqual({ waiting: 1, refused: [] });
  });

  it('when the hub refuses a whole call, sends its events one by one and sets aside only those refused alone', async () => {
    await (await localDb()).clear('outbox');
    const hub = receiver();
    const events = Array.from({ length: 3 }, prediction);
    for (const event of events) await enqueue({ kind: 'prediction', project: 'p', event });
    const bad = { id: '10000000-0000-4000-8000-000000000004', predictionId: events[0]!.id, label: 'bad', createdAt: events[0]!.createdAt };
    await enqueue({ kind: 'correction', project: 'p', event: bad });
    hub.fail('refuse');
    expect(await flushOutbox(hub.sender, 10)).toBe(3);
    expect(hub.calls).toEqual([...events.map((e) => [e.id]), [bad.id]]);
    expect(await outboxCounts()).toEqual({ waiting: 0, refused: [{ id: `correction:${bad.id}`, reason: 'corrections.0.label: "bad" is not a label of this project' }] });
  });
});
