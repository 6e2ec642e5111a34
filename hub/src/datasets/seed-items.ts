/**
 * Synthetic working-set items for tests and benchmarks: rows only (a blob row per item, no bytes in the object
 * store), made the way an import makes them, so paging, filters and balance can be measured at 70,000 items in
 * seconds. Item i has label labels[i % labels.length], split train, train, train, val, test by i % 5 (60/20/20) and
 * source 'upload' every 10th item, else 'idx'.
 */
import crypto from 'node:crypto';
import type { ItemSource, Split } from '@edgeloop/shared';
import type { Database } from '../db/database';
import { type NewBlob, type NewItem, addImages } from './item.repository';

export interface SeededItem {
  sha256: string;
  label: string;
  split: Split;
  source: ItemSource;
}

const SPLIT_OF: readonly Split[] = ['train', 'train', 'train', 'val', 'test'];

/** The items `seedItems` adds for this seed and count (deterministic), without adding them. */
export function syntheticItems(seed: string, count: number, labels: readonly string[]): SeededItem[] {
  return Array.from({ length: count }, (_, i) => ({
    sha256: crypto.createHash('sha256').update(`${seed}:${i}`).digest('hex'),
    label: labels[i % labels.length]!,
    split: SPLIT_OF[i % 5]!,
    source: i % 10 === 0 ? 'upload' : 'idx',
  }));
}

/** Adds `count` synthetic 28x28 PNG items to a project's working set; returns them. */
export async function seedItems(db: Database, projectId: string, seed: string, count: number, labels: readonly string[], at = new Date()): Promise<SeededItem[]> {
  const seeded = syntheticItems(seed, count, labels);
  const blobRows: NewBlob[] = seeded.map((s) => ({ sha256: s.sha256, bytes: 300, contentType: 'image/png', width: 28, height: 28, createdAt: at }));
  const itemRows: NewItem[] = seeded.map((s) => ({ projectId, ...s, createdAt: at, updatedAt: at }));
  await addImages(db, blobRows, itemRows);
  return seeded;
}
