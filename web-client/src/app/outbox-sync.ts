/** When the page asks the service worker to flush the outbox: Background Sync, where the browser has it. */
export const OUTBOX_SYNC_TAG = 'edgeloop-outbox';

interface SyncManagerLike {
  register(tag: string): Promise<void>;
}

/** Asks for a sync when connectivity returns, even if this page is closed by then. False where unsupported. */
export async function requestBackgroundSync(): Promise<boolean> {
  if (!('serviceWorker' in navigator)) return false;
  const registration = (await navigator.serviceWorker.getRegistration()) as (ServiceWorkerRegistration & { sync?: SyncManagerLike }) | undefined;
  if (!registration?.sync) return false;
  try {
    await registration.sync.register(OUTBOX_SYNC_TAG);
    return true;
  } catch {
    return false;
  }
}
