import crypto from 'node:crypto';
import { type ImageContentType, type ItemSource, type Split, objectKeyForSha256 } from '@edgeloop/shared';
import { inArray } from 'drizzle-orm';
import { mapConcurrent } from '../concurrency';
import { blobs, items } from '../db/schema';
import type { HubDeps } from '../deps';
import { type Project, assertKnownLabel } from '../projects/project.service';

/** One image on its way into a project, already verified to decode. */
export interface IngestCandidate {
  bytes: Uint8Array;
  contentType: ImageContentType;
  width: number;
  height: number;
  label: string;
  split: Split;
  source: ItemSource;
}

export interface IngestResult {
  /** Items new to the project's working set. */
  added: number;
  /** Images whose bytes were already in the project (or earlier in this import): skipped. */
  duplicates: number;
  /** Objects written to the store (bytes not stored before, in any project). */
  objectsWritten: number;
}

export type ProgressFn = (done: number, total: number) => void;

const BATCH = 1000;
const PUT_CONCURRENCY = 32;
const ROWS_PER_STATEMENT = 1000;

/**
 * Adds images to a project's working set. Objects are written first (content-addressed, so a crash
 * leaves at most unreferenced objects, never a row without bytes); then all rows go in one
 * transaction, so an import either lands whole or not at all.
 */
export async function ingestCandidates(
  deps: HubDeps,
  project: Project,
  batches: AsyncIterable<IngestCandidate[]>,
  options: { total: number; onProgress?: ProgressFn },
): Promise<IngestResult> {
  const seen = new Set<string>();
  const blobRows: (typeof blobs.$inferInsert)[] = [];
  const itemRows: (typeof items.$inferInsert)[] = [];
  let done = 0;
  let duplicates = 0;
  let objectsWritten = 0;

  for await (const batch of batches) {
    const fresh: { candidate: IngestCandidate; sha256: string }[] = [];
    for (const candidate of batch) {
      assertKnownLabel(project, candidate.label);
      const sha256 = crypto.createHash('sha256').update(candidate.bytes).digest('hex');
      if (seen.has(sha256)) {
        duplicates++;
        continue;
      }
      seen.add(sha256);
      fresh.push({ candidate, sha256 });
    }
    const stored = await storedShas(deps, fresh.map((f) => f.sha256));
    const toWrite = fresh.filter((f) => !stored.has(f.sha256));
    await mapConcurrent(toWrite, PUT_CONCURRENCY, ({ candidate, sha256 }) =>
      deps.store.put(objectKeyForSha256(sha256), candidate.bytes, { contentType: candidate.contentType }),
    );
    objectsWritten += toWrite.length;
    const now = deps.now();
    for (const { candidate, sha256 } of fresh) {
      if (!stored.has(sha256)) {
        blobRows.push({
          sha256,
          bytes: candidate.bytes.length,
          contentType: candidate.contentType,
          width: candidate.width,
          height: candidate.height,
          createdAt: now,
        });
      }
      itemRows.push({
        projectId: project.id,
        sha256,
        label: candidate.label,
        split: candidate.split,
        source: candidate.source,
        createdAt: now,
        updatedAt: now,
      });
    }
    done += batch.length;
    options.onProgress?.(done, options.total);
  }

  deps.log.info(`${project.slug}: ${objectsWritten} objects written; adding ${itemRows.length} items in one transaction`);
  const added = await deps.db.transaction(async (tx) => {
    for (let i = 0; i < blobRows.length; i += ROWS_PER_STATEMENT) {
      await tx.insert(blobs).values(blobRows.slice(i, i + ROWS_PER_STATEMENT)).onConflictDoNothing();
    }
    let inserted = 0;
    for (let i = 0; i < itemRows.length; i += ROWS_PER_STATEMENT) {
      const rows = await tx
        .insert(items)
        .values(itemRows.slice(i, i + ROWS_PER_STATEMENT))
        .onConflictDoNothing()
        .returning({ sha256: items.sha256 });
      inserted += rows.length;
    }
    return inserted;
  });
  return { added, duplicates: duplicates + itemRows.length - added, objectsWritten };
}

async function storedShas(deps: HubDeps, shas: string[]): Promise<Set<string>> {
  if (shas.length === 0) return new Set();
  const rows = await deps.db.select({ sha256: blobs.sha256 }).from(blobs).where(inArray(blobs.sha256, shas));
  return new Set(rows.map((r) => r.sha256));
}

/** Splits a list into batches for `ingestCandidates`. */
export async function* inBatches<T>(source: AsyncIterable<T> | Iterable<T>, size = BATCH): AsyncIterable<T[]> {
  let batch: T[] = [];
  for await (const item of source) {
    batch.push(item);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

