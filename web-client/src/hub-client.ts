/**
 * The one way the web apps reach the hub: a typed tRPC client of the hub on this origin (the router's type only),
 * with the links each use needs, and how to read the hub's refusals.
 * - hubClient: the admin, and the PWA's reads and uploads: batched calls.
 * - deviceHubClient: the PWA's feedback sync (page and service worker): one call per request, through the fetch it is
 *   given (the PWA's reports whether the hub answered, which is what its online indicator follows).
 * - publicHubClient: the calls that need no token (the trusted signing keys), always revalidated.
 */
import { type HTTPHeaders, type TRPCLink, TRPCClientError, createTRPCClient, httpBatchLink, httpLink } from '@trpc/client';
import type { AppRouter } from '@edgeloop/hub/router';
import { MAX_BATCH_CALLS } from '@edgeloop/shared';

export type { RouterOutputs } from '@edgeloop/hub/router';

const HUB_URL = '/trpc';

const bearer = (token: string) => (): HTTPHeaders => ({ authorization: `Bearer ${token}` });

const clientWith = (link: TRPCLink<AppRouter>) => createTRPCClient<AppRouter>({ links: [link] });

/** A typed client of the hub on this origin, sending `token` as the bearer credential; calls made together go in one batch. */
export function hubClient(token: string) {
  // The hub refuses larger batches; long GET URLs would pass Node's 16 KiB header limit, so those go in parts too.
  return clientWith(httpBatchLink({ url: HUB_URL, maxItems: MAX_BATCH_CALLS, maxURLLength: 8_000, headers: bearer(token) }));
}
export type HubClient = ReturnType<typeof hubClient>;

/** The device's client for syncing feedback: one request per call, each through `fetch`. */
export function deviceHubClient(token: string, fetch: typeof globalThis.fetch): HubClient {
  return clientWith(httpLink({ url: HUB_URL, fetch, headers: bearer(token) }));
}

/** A client without a token, for the hub's public procedures; answers are revalidated, never taken from the HTTP cache. */
export function publicHubClient(): HubClient {
  return clientWith(httpLink({ url: HUB_URL, fetch: (input, init) => fetch(input, { ...init, cache: 'no-cache' }) }));
}

/** The tRPC error code the hub answered with; undefined when no answer came (offline, a network error). */
export const hubCode = (error: unknown): string | undefined => (error instanceof TRPCClientError ? (error.data as { code?: string } | undefined)?.code : undefined);
