/**
 * The service worker: serves the app shell (pages, scripts, the wasm binaries) from the precache so the app opens
 * with no network at all, and flushes the feedback outbox on Background Sync when the device is back online.
 * Model files are not handled here: the page verifies them and keeps them in a cache of its own.
 */
import { clientsClaim } from 'workbox-core';
import { type PrecacheEntry, cleanupOutdatedCaches, precacheAndRoute } from 'workbox-precaching';
import { CredentialsRefused, flushOutbox } from './app/outbox';
import { OUTBOX_SYNC_TAG } from './app/outbox-sync';
import { loadSettings } from './app/settings';
import { hubSender } from './app/outbox-sender';

// The DOM typings have no service-worker scope; these are the parts used here.
interface ExtendableEvent extends Event {
  waitUntil(work: Promise<unknown>): void;
}
interface SyncEvent extends ExtendableEvent {
  tag: string;
}
declare const self: {
  __WB_MANIFEST: (PrecacheEntry | string)[];
  addEventListener(type: 'sync', listener: (event: SyncEvent) => void): void;
};

// The first install controls the open page at once. A later version waits until the app's tabs are closed: an
// open page keeps the scripts it started with, which the new version's precache would otherwise remove.
clientsClaim();
cleanupOutdatedCaches();
// Any query string (?project=...&token=...) still opens the precached page.
precacheAndRoute(self.__WB_MANIFEST, { ignoreURLParametersMatching: [/.*/] });

self.addEventListener('sync', (event) => {
  if (event.tag !== OUTBOX_SYNC_TAG) return;
  // A token the hub refused waits for new settings (the page says so); only what may succeed later is retried.
  event.waitUntil(
    loadSettings()
      .then((settings) => (settings.token ? flushOutbox(hubSender(settings.token)) : 0))
      .catch((error: unknown) => (error instanceof CredentialsRefused ? 0 : Promise.reject(error))),
  );
});
