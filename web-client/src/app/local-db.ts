/**
 * The device's own database (IndexedDB): the outbox of events waiting for the hub, the history of predictions
 * made here (what a labeler works through, offline too), and small settings/state values.
 * Used by the page and by the service worker (Background Sync), so it imports nothing from the DOM.
 */
import type { CorrectionEvent, PredictionEvent } from '@edgeloop/shared';
import { type DBSchema, type IDBPDatabase, openDB } from 'idb';

/**
 * `seq`: the key IndexedDB assigns, increasing in the order events were queued (a correction always after its
 * prediction). `refused`: the hub refused this event (the reason); it stays on the device and is not sent again.
 */
export type OutboxEntry = { seq?: number; id: string; project: string; queuedAt: number; refused?: string } & (
  | { kind: 'prediction'; event: PredictionEvent }
  | { kind: 'correction'; event: CorrectionEvent }
);

export interface HistoryEntry {
  id: string;
  project: string;
  model: string;
  version: number;
  top: PredictionEvent['top'];
  backend: string;
  latencyMs: number;
  createdAt: string;
  /** A small JPEG data URL, kept on this device only. */
  thumbnail: string;
  /** The label a person gave it here, if any; label null with unusable: "none of these labels / unusable". */
  groundTruth?: { label: string | null; unusable?: boolean; at: string };
  /** The image as it was classified; it leaves the device only if a labeler shares it. */
  image?: Blob;
  /** Why no image was kept, in words. */
  imageNote?: string;
  /**
   * A labeler shared the image with its label for training: still to upload (with the last error), done, or refused
   * (why). `note` says what was done to fit it to the project (shrunk, re-encoded).
   */
  share?: {
    state: 'waiting' | 'uploaded' | 'already in the dataset' | 'not sent';
    error?: string;
    note?: string;
    /** 'review': the labeler shared it; 'device': the project collects images of reviewed predictions. */
    source?: 'review' | 'device';
    /** Where the hub's review inbox has it once uploaded: pending until a person or the project's rule accepts it. */
    review?: 'pending' | 'accepted' | 'rejected';
  };
}

interface EdgeloopDb extends DBSchema {
  outbox: { key: number; value: OutboxEntry; indexes: { id: string } };
  history: { key: string; value: HistoryEntry; indexes: { createdAt: string } };
  kv: { key: string; value: unknown };
}

let opened: Promise<IDBPDatabase<EdgeloopDb>> | undefined;

export function localDb(): Promise<IDBPDatabase<EdgeloopDb>> {
  opened ??= openDB<EdgeloopDb>('edgeloop', 1, {
    upgrade(db) {
      db.createObjectStore('outbox', { keyPath: 'seq', autoIncrement: true }).createIndex('id', 'id', { unique: true });
      db.createObjectStore('history', { keyPath: 'id' }).createIndex('createdAt', 'createdAt');
      db.createObjectStore('kv');
    },
  });
  return opened;
}

export async function readValue<T>(key: string): Promise<T | undefined> {
  return (await (await localDb()).get('kv', key)) as T | undefined;
}

export async function writeValue(key: string, value: unknown): Promise<void> {
  await (await localDb()).put('kv', value, key);
}
