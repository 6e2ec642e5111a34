/**
 * The service worker: serves the app shell (pages, scripts, the wasm binary) from the precache so the app opens with
 * no network at all, and flushes the feedback outbox on Background Sync when the device is back online.
 * It precaches in two tiers (web-client/src/precache-plan.ts): as it installs, what a first visit runs (the app, the
 * inference worker, its first backend); when a page says the device is idle, the rest (the other backends), into a
 * cache of its own that it serves from, offline too. Model files are not handled here: the page verifies them and
 * keeps them in a cache of its own.
 */
import { clientsClaim } from 'workbox-core';
import { cleanupOutdatedCaches, precacheAndRoute } from 'workbox-precaching';
import { registerRoute } from 'workbox-routing';
import { CredentialsRefused, flushOutbox } from './app/outbox';
import { OUTBOX_SYNC_TAG } from './app/outbox-sync';
import { loadSettings } from './app/settings';
import { hubSender } from './app/outbox-sender';
import { PRECACHE_LATER, type PrecacheLaterResult, type TieredEntry } from './precache-plan';

// The DOM typings have no service-worker scope; these are the parts used here.
interface ExtendableEvent extends Event {
  waitUntil(work: Promise<unknown>): void;
}
interface SyncEvent extends ExtendableEvent {
  tag: string;
}
interface ExtendableMessageEvent extends ExtendableEvent {
  data: unknown;
  ports: readonly MessagePort[];
}
declare const self: {
  __WB_MANIFEST: TieredEntry[];
  location: Location;
  addEventListener(type: 'sync', listener: (event: SyncEvent) => void): void;
  addEventListener(type: 'message', listener: (event: ExtendableMessageEvent) => void): void;
  addEventListener(type: 'activate', listener: (event: ExtendableEvent) => void): void;
};

/** Where the later tier is kept; files of an older version are dropped when a new one activates. */
const LATER_CACHE = 'edgeloop-later-v1';

// The first install controls the open page at once. A later version waits until the app's tabs are closed: an
// open page keeps the scripts it started with, which the new version's precache would otherwise remove.
clientsClaim();
cleanupOutdatedCaches();
const entries = self.__WB_MANIFEST;
// Any query string (?project=...&token=...) still opens the precached page.
precacheAndRoute(
  entries.filter((entry) => !entry.later),
  { ignoreURLParametersMatching: [/.*/] },
);

// Later files have content-hashed names: a URL names its bytes for good.
const later = new Set(entries.filter((entry) => entry.later).map((entry) => new URL(entry.url, self.location.href).href));

/** From the cache; else from the network, kept for next time (a backend a device loads before the idle fetch). */
registerRoute(
  ({ url }) => later.has(url.href),
  async ({ request }) => {
    const cache = await caches.open(LATER_CACHE);
    const cached = await cache.match(request.url);
    if (cached) return cached;
    const response = await fetch(request);
    if (response.ok) await cache.put(request.url, response.clone());
    return response;
  },
);

/**
 * Fetches the later files not cached yet, one at a time (the device is idle; nothing waits for them). Marked
 * `Purpose: prefetch`, as browsers mark their own speculative fetches, so servers and counters can tell them apart.
 */
async function precacheLater(): Promise<PrecacheLaterResult> {
  const cache = await caches.open(LATER_CACHE);
  let fetched = 0;
  for (const url of later) {
    if (await cache.match(url)) continue;
    const response = await fetch(url, { headers: { purpose: 'prefetch' }, credentials: 'same-origin' });
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    await cache.put(url, response);
    fetched++;
  }
  return { fetched, total: later.size };
}

self.addEventListener('message', (event) => {
  if ((event.data as { type?: unknown } | null)?.type !== PRECACHE_LATER) return;
  event.waitUntil(
    precacheLater()
      .catch((error: unknown): PrecacheLaterResult => ({ fetched: 0, total: later.size, error: (error as Error).message }))
      .then((result) => event.ports[0]?.postMessage(result)),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.open(LATER_CACHE).then(async (cache) => {
      for (const request of await cache.keys()) if (!later.has(request.url)) await cache.delete(request);
    }),
  );
});

self.addEventListener('sync', (event) => {
  if (event.tag !== OUTBOX_SYNC_TAG) return;
  // A token the hub refused waits for new settings (the page says so); only what may succeed later is retried.
  event.waitUntil(
    loadSettings()
      .then((settings) => (settings.token ? flushOutbox(hubSender(settings.token)) : 0))
      .catch((error: unknown) => (error instanceof CredentialsRefused ? 0 : Promise.reject(error))),
  );
});
