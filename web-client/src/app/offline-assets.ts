/**
 * The page's side of the service worker (web-client/src/sw.ts): registering it once the first model is ready (its
 * start and install would otherwise compete with the first prediction for the device's cores), and asking it for the
 * later precache tier (the other backends) when the device is idle.
 */
import { Workbox, messageSW } from 'workbox-window';
import { PRECACHE_LATER, type PrecacheLaterResult } from '../precache-plan';

/** The service worker exists only in the production build. */
const hasServiceWorker = () => 'serviceWorker' in navigator && import.meta.env.PROD;

/** The registration under way, once started (undefined: the browser refused it). */
let registering: Promise<ServiceWorkerRegistration | undefined> | null = null;

/** Registers the service worker once the User Timing mark `mark` is set, or after `maxWaitMs` without it. */
export function registerServiceWorkerAfter(mark: string, maxWaitMs: number): void {
  if (!hasServiceWorker()) return;
  const register = () => {
    if (registering) return;
    observer.disconnect();
    clearTimeout(timer);
    registering = new Workbox('/sw.js', { scope: '/' }).register().catch(() => undefined);
  };
  const observer = new PerformanceObserver((list) => list.getEntriesByName(mark).length > 0 && register());
  const timer = setTimeout(register, maxWaitMs);
  observer.observe({ type: 'mark', buffered: true });
}

/** Resolves when the browser has nothing else to do (or after `timeoutMs`). */
export function whenIdle(timeoutMs = 2_000): Promise<void> {
  return new Promise((resolve) => {
    if ('requestIdleCallback' in window) requestIdleCallback(() => resolve(), { timeout: timeoutMs });
    else setTimeout(resolve, 50);
  });
}

const within = <T>(work: Promise<T>, ms: number) => Promise.race([work, new Promise<null>((resolve) => setTimeout(() => resolve(null), ms))]);

/**
 * Has the service worker fetch the later tier now; resolves with what it did once those files are cached, or null
 * without a service worker (development, a browser that refuses one, one still installing after half a minute) or
 * without an answer in two minutes (a service worker stopped meanwhile: the next start asks again).
 */
export async function precacheLater(): Promise<PrecacheLaterResult | null> {
  if (!hasServiceWorker() || !(await (registering ?? navigator.serviceWorker.getRegistration()))) return null;
  const worker = (await within(navigator.serviceWorker.ready, 30_000))?.active;
  return worker ? ((await within(messageSW(worker, { type: PRECACHE_LATER }), 120_000)) as PrecacheLaterResult | null) : null;
}
