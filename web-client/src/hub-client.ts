import { createTRPCClient, httpBatchLink } from '@trpc/client';
import type { AppRouter } from '@edgeloop/hub/router';
import { MAX_BATCH_CALLS } from '@edgeloop/shared';

export type { RouterOutputs } from '@edgeloop/hub/router';

/** A typed client of the hub on this origin, sending `token` as the bearer credential. */
export function hubClient(token: string) {
  return createTRPCClient<AppRouter>({
    // The hub refuses larger batches; long GET URLs would pass Node's 16 KiB header limit, so those go in parts too.
    links: [httpBatchLink({ url: '/trpc', maxItems: MAX_BATCH_CALLS, maxURLLength: 8_000, headers: () => ({ authorization: `Bearer ${token}` }) })],
  });
}
export type HubClient = ReturnType<typeof hubClient>;
