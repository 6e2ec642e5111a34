/**
 * jsonb columns hold contracts from @edgeloop/shared. Repositories parse what they read back with the contract, so
 * a row written before it (or changed by hand) fails here with a message naming the row and the column, not later
 * inside whatever first touched a missing field.
 */
import { formatIssues } from '@edgeloop/shared';
import type { z } from 'zod';

export class StoredDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoredDataError';
  }
}

/** `value` parsed by `schema`; `where` names the row and column, e.g. `run 1b2c... model_config`. */
export function parseStored<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new StoredDataError(`${where} does not match its contract (${formatIssues(parsed.error)}); the row predates it or was changed outside the hub`);
}
