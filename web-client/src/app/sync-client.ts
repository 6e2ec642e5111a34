/** The hub's feedback API as the outbox's sender: the page and the service worker both sync through this. */
import type { AppRouter } from '@edgeloop/hub/router';
import { TRPCClientError, createTRPCClient, httpLink } from '@trpc/client';
import { type OutboxSender, RefusedByHub } from './outbox';

/**
 * Refusals about the events themselves. Anything else is retried later: offline, 5xx, and what the token or the
 * settings get wrong (401, 403, an unknown project), which a person can fix without the events being lost.
 */
const REFUSALS = new Set(['BAD_REQUEST', 'PAYLOAD_TOO_LARGE']);

export function hubSender(token: string): OutboxSender {
  const feedback = createTRPCClient<AppRouter>({
    links: [httpLink({ url: '/trpc', headers: () => ({ authorization: `Bearer ${token}` }) })],
  }).feedback;
  const refusal = (error: unknown) => {
    if (error instanceof TRPCClientError && REFUSALS.has((error.data as { code?: string } | undefined)?.code ?? '')) return new RefusedByHub(error.message);
    return error;
  };
  return {
    predictions: (project, predictions) => feedback.syncPredictions.mutate({ project, predictions }).catch((e: unknown) => Promise.reject(refusal(e))),
    corrections: (project, corrections) => feedback.syncCorrections.mutate({ project, corrections }).catch((e: unknown) => Promise.reject(refusal(e))),
  };
}
