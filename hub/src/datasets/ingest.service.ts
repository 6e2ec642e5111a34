import crypto from 'node:crypto';
import { type ImageContentType, type ItemSource, type Split, objectKeyForSha256 } from '@edgeloop/shared';
import { mapConcurrent } from '../concurrency';
import type { HubDeps } from '../deps';
import type { Project } from '../projects/project.repository';
import { assertKnownLabel } from '../projects/project.service';
import { tracked } from './dataset-activity';
import * as items from './item.repository';

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
  // The admin shows this import's progress, whichever process runs it (the demo's at a hub's start, the CLI's).
  return tracked(
    deps,
    project,
    'import',
    'storing images',
    (activity) =>
      ingest(deps, project, batches, { ...options, onProgress: (done, total) => (activity.progress(done, total), options.onProgress?.(done, total)) }, () =>
        activity.progress(options.total, options.total, 'adding the items to the working set'),
      ),
    'The import stopped with an error (the hub\'s log has it); nothing was added. Run it again.',
    options.total,
  );
}

async function ingest(
  deps: HubDeps,
  project: Project,
  batches: AsyncIterable<IngestCandidate[]>,
  options: { total: number; onProgress?: ProgressFn },
  beforeRows: () => void,
): Promise<IngestResult> {
  const seen = new Set<string>();
  const blobRows: items.NewBlob[] = [];
  const itemRows: items.NewItem[] = [];
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
    const stored = await items.storedBlobs(deps.db, fresh.map((f) => f.sha256));
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

  beforeRows();
  deps.log.info(`${project.slug}: ${objectsWritten} objects written; adding ${itemRows.length} items in one transaction`);
  const added = await items.addImages(deps.db, blobRows, itemRows);
  return { added, duplicates: duplicates + itemRows.length - added, objectsWritten };
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

