/**
 * How much a tRPC request may carry. Bodies are limited while they stream in, per procedure: a client cannot make the
 * hub hold more than the largest allowance of the procedures it calls, however large a body it sends.
 */
import { MAX_BATCH_CALLS, MAX_BODY_BYTES, MAX_IMAGE_BASE64_CHARS, MAX_SYNC_BODY_BYTES } from '@edgeloop/shared';

/** registry.predict carries an image of up to MAX_IMAGE_BASE64_CHARS, plus its small JSON envelope. */
export const MAX_PREDICT_BODY_BYTES = MAX_IMAGE_BASE64_CHARS + 64 * 1024;

/** Procedures allowed more than MAX_BODY_BYTES. */
const BODY_LIMITS: Record<string, number> = {
  'feedback.syncPredictions': MAX_SYNC_BODY_BYTES,
  'registry.predict': MAX_PREDICT_BODY_BYTES,
};

/** The body limit of a request calling `procedures` (several in a batch): the largest of theirs. */
export function bodyLimitFor(procedures: readonly string[]): number {
  return Math.max(MAX_BODY_BYTES, ...procedures.map((p) => BODY_LIMITS[p] ?? MAX_BODY_BYTES));
}

export function bodyTooLargeMessage(limit: number, received?: number): string {
  const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `request body ${received === undefined ? 'is larger than' : `of ${received} bytes exceeds`} the limit of ${limit} bytes (${mib(limit)}) for this call; send smaller batches`;
}

export function batchTooLargeMessage(calls: number): string {
  return `a batch may hold at most ${MAX_BATCH_CALLS} calls; this one has ${calls}`;
}
