import { createTRPCClient, httpBatchLink } from '@trpc/client';
import type { AppRouter } from '@edgeloop/hub/router';

export type { RouterOutputs } from '@edgeloop/hub/router';

/** A typed client of the hub on this origin, sending `token` as the bearer credential. */
export function hubClient(token: string) {
  return createTRPCClient<AppRouter>({
    links: [httpBatchLink({ url: '/trpc', headers: () => ({ authorization: `Bearer ${token}` }) })],
  });
}
export type HubClient = ReturnType<typeof hubClient>;
