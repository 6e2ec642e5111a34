/**
 * The outbox: every prediction and correction is written here first, then sent to the hub in batches whenever
 * the device is online. An entry is deleted only after the hub acknowledged it, and the hub ignores ids it already
 * has, so a sync cut off at any point (request lost, response lost, tab closed) loses nothing and duplicates
 * nothing: the next flush simply sends the rest again.
 */
import { type CorrectionEvent, MAX_SYNC_BATCH, type PredictionEvent, type SyncResult } from '@edgeloop/shared';
import { type HistoryEntry, type OutboxEntry, localDb } from './local-db';

/** Where batches go: the hub's feedback API (or, in tests, a hub called in-process). It answers per event. */
export interface OutboxSender {
  predictions(project: string, events: PredictionEvent[]): Promise<SyncResult>;
  corrections(project: string, events: CorrectionEvent[]): Promise<SyncResult>;
}

type PredictionEntry = Extract<OutboxEntry, { kind: 'prediction' }>;
type CorrectionEntry = Extract<OutboxEntry, { kind: 'correction' }>;

/** Raised by a sender when the hub refused the events themselves (not the network): they are kept, set aside. */
export class RefusedByHub extends Error {
  override name = 'RefusedByHub';
}

/**
 * Raised by a sender when the hub refused the caller, not the events: an unknown or revoked token, a token of another
 * project, a project the hub does not have. Nothing is set aside; everything waits until the settings change.
 */
export class CredentialsRefused extends Error {
  override name = 'CredentialsRefused';
}

/** Queues an event; `history` (the device's own record of it) is written in the same transaction, or neither is. */
export async function enqueue(
  entry: { kind: 'prediction'; project: string; event: PredictionEvent } | { kind: 'correction'; project: string; event: CorrectionEvent },
  history?: HistoryEntry,
): Promise<void> {
  const tx = (await localDb()).transaction(['outbox', 'history'], 'readwrite');
  await Promise.all([
    tx.objectStore('outbox').add({ ...entry, id: `${entry.kind}:${entry.event.id}`, queuedAt: Date.now() } as OutboxEntry),
    history && tx.objectStore('history').put(history),
    tx.done,
  ]);
}

/** Sends the events the hub refused again (after the token or project changed). */
export async function requeueRefused(): Promise<void> {
  const tx = (await localDb()).transaction('outbox', 'readwrite');
  for (const entry of await tx.store.getAll()) {
    if (entry.refused) {
      const { refused: _refused, ...again } = entry;
      await tx.store.put(again);
    }
  }
  await tx.done;
}

export interface OutboxCounts {
  waiting: number;
  /** Kept on the device because the hub refused them (the message says why). */
  refused: { id: string; reason: string }[];
}

export async function outboxCounts(): Promise<OutboxCounts> {
  const all = await (await localDb()).getAll('outbox');
  return { waiting: all.filter((e) => !e.refused).length, refused: all.filter((e) => e.refused).map((e) => ({ id: e.id, reason: e.refused! })) };
}

let running: Promise<number> | undefined;

/**
 * Sends everything waiting, oldest first, predictions before the corrections that refer to them. Resolves with the
 * number of events the hub acknowledged; rejects (keeping the rest queued) when the hub cannot be reached.
 * One flush at a time per device: across tabs and the service worker through a Web Lock where there is one.
 */
export function flushOutbox(sender: OutboxSender, batchSize = 100): Promise<number> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  // request() resolves with what the callback's promise resolves with (the DOM typings nest the promise).
  if (locks) return locks.request('edgeloop-outbox', () => flushAll(sender, batchSize)) as unknown as Promise<number>;
  running = (running ?? Promise.resolve(0)).catch(() => 0).then(() => flushAll(sender, batchSize));
  return running;
}

async function flushAll(sender: OutboxSender, batchSize: number): Promise<number> {
  const size = Math.min(batchSize, MAX_SYNC_BATCH);
  let sent = 0;
  for (;;) {
    const batch = await nextBatch(size);
    if (batch.length === 0) return sent;
    sent += await sendBatch(sender, batch);
  }
}

async function nextBatch(size: number): Promise<OutboxEntry[]> {
  const db = await localDb();
  const batch: OutboxEntry[] = [];
  let cursor = await db.transaction('outbox').store.openCursor();
  while (cursor && batch.length < size) {
    const entry = cursor.value;
    if (!entry.refused) batch.push(entry);
    cursor = await cursor.continue();
  }
  return batch;
}

/**
 * Sends one batch. The hub answers per event: the ones it rejects (with the reason) are set aside, the rest are done.
 * A refusal of the whole call (too large, say) is retried event by event, so only the refused ones are set aside.
 */
async function sendBatch(sender: OutboxSender, batch: OutboxEntry[]): Promise<number> {
  let rejected: Map<OutboxEntry, string>;
  try {
    rejected = await send(sender, batch);
  } catch (error) {
    if (!(error instanceof RefusedByHub)) throw error;
    if (batch.length === 1) {
      await setAside(batch[0]!, error.message);
      return 0;
    }
    let sent = 0;
    for (const entry of batch) sent += await sendBatch(sender, [entry]);
    return sent;
  }
  const tx = (await localDb()).transaction('outbox', 'readwrite');
  await Promise.all([
    ...batch.map((e) => (rejected.has(e) ? tx.store.put({ ...e, refused: rejected.get(e)! }) : tx.store.delete(e.seq!))),
    tx.done,
  ]);
  return batch.length - rejected.size;
}

/** Sends a batch per project and kind; resolves with the events the hub rejected and why. */
async function send(sender: OutboxSender, batch: OutboxEntry[]): Promise<Map<OutboxEntry, string>> {
  const rejected = new Map<OutboxEntry, string>();
  const note = (entries: OutboxEntry[], result: SyncResult) => {
    // A hub older than per-event answers has no `rejected`: it refuses whole calls instead (handled by the caller).
    for (const r of result.rejected ?? []) {
      // The index says which event; the id (absent when the event had no valid one) confirms it.
      const atIndex = entries[r.index];
      const entry = r.id === null || atIndex?.event.id === r.id ? atIndex : entries.find((e) => e.event.id === r.id);
      if (entry) rejected.set(entry, r.reason);
    }
  };
  for (const project of new Set(batch.map((e) => e.project))) {
    const predictions = batch.filter((e): e is PredictionEntry => e.project === project && e.kind === 'prediction');
    const corrections = batch.filter((e): e is CorrectionEntry => e.project === project && e.kind === 'correction');
    if (predictions.length) note(predictions, await sender.predictions(project, predictions.map((e) => e.event)));
    if (corrections.length) note(corrections, await sender.corrections(project, corrections.map((e) => e.event)));
  }
  return rejected;
}

async function setAside(entry: OutboxEntry, reason: string): Promise<void> {
  await (await localDb()).put('outbox', { ...entry, refused: reason });
}
