/** The hub's feedback API as the outbox's sender, and what the hub's refusals mean for the outbox: the page and the service worker both sync through this. */
import { withEmbeddingBase64 } from '@edgeloop/shared';
import { deviceHubClient, hubCode } from '../hub-client';
import { reachabilityFetch } from './connectivity';
import { CredentialsRefused, type OutboxSender, RefusedByHub } from './outbox';
import { tokenProblem } from './plain-error';

/** Refusals about the events themselves: those are set aside. */
const REFUSALS = new Set(['BAD_REQUEST', 'PAYLOAD_TOO_LARGE']);
/**
 * Refusals of the token or the settings (401, 403, an unknown project): no retry helps until a person changes them;
 * the events wait on the device meanwhile. Anything else (offline, 5xx) is retried later.
 */
const CREDENTIAL_REFUSALS = new Set(['UNAUTHORIZED', 'FORBIDDEN', 'NOT_FOUND']);

/** What to tell the user when the hub refused the token or the settings (in plain words, with what to do); null for any other error. */
export function credentialsProblem(error: unknown): string | null {
  return CREDENTIAL_REFUSALS.has(hubCode(error) ?? '') ? tokenProblem(error) : null;
}

export function hubSender(token: string): OutboxSender {
  // Each request tells connectivity.ts whether the hub answered.
  const feedback = deviceHubClient(token, reachabilityFetch).feedback;
  const refusal = (error: unknown) => {
    if (REFUSALS.has(hubCode(error) ?? '')) return new RefusedByHub((error as Error).message);
    const credentials = credentialsProblem(error);
    return credentials ? new CredentialsRefused(credentials) : error;
  };
  return {
    predictions: (project, predictions) => feedback.syncPredictions.mutate({ project, predictions: predictions.map(withEmbeddingBase64) }).catch((e: unknown) => Promise.reject(refusal(e))),
    corrections: (project, corrections) => feedback.syncCorrections.mutate({ project, corrections }).catch((e: unknown) => Promise.reject(refusal(e))),
  };
}
