/** The hub's feedback API as the outbox's sender, and what the hub's refusals mean for the outbox: the page and the service worker both sync through this. */
import { withEmbeddingBase64 } from '@edgeloop/shared';
import { deviceHubClient, hubCode } from '../hub-client';
import { reachabilityFetch } from './connectivity';
import { CredentialsRefused, type OutboxSender, RefusedByHub } from './outbox';

/** Refusals about the events themselves: those are set aside. */
const REFUSALS = new Set(['BAD_REQUEST', 'PAYLOAD_TOO_LARGE']);
/**
 * Refusals of the token or the settings (401, 403, an unknown project): no retry helps until a person changes them;
 * the events wait on the device meanwhile. Anything else (offline, 5xx) is retried later.
 */
const CREDENTIAL_REFUSALS: Record<string, (message: string) => string> = {
  UNAUTHORIZED: () => 'the hub does not accept this token (wrong or revoked): events are kept on this device; set a new token in Settings',
  FORBIDDEN: (message) => `the hub refused this token: ${message}; events are kept on this device; set another token or project in Settings`,
  NOT_FOUND: (message) => `${message}: events are kept on this device; check the project in Settings`,
};

/** What to tell the user when the hub refused the token or the settings; null for any other error. */
export function credentialsProblem(error: unknown): string | null {
  const describe = CREDENTIAL_REFUSALS[hubCode(error) ?? ''];
  return describe ? describe((error as Error).message) : null;
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
