/**
 * Who made a prediction, as the hub's monitors tell devices and builds apart: this installation's random id (made once,
 * kept in the device's database beside the outbox, never derived from anything about the device or its user) and
 * the app's version (web-client/package.json, fixed at build time by vite.config.ts).
 */
import { appVersionSchema, deviceIdSchema } from '@edgeloop/shared';
import { localDb } from './local-db';

const DEVICE_ID_KEY = 'deviceId';

/** The app build this is. */
export const APP_VERSION: string = appVersionSchema.parse(__EDGELOOP_APP_VERSION__);

let known: Promise<string> | undefined;

/**
 * This installation's id: read, or made and stored, in one IndexedDB transaction, so two tabs opened at once agree
 * on it. Clearing the site's data makes a new one.
 */
export function deviceId(): Promise<string> {
  known ??= (async () => {
    const tx = (await localDb()).transaction('kv', 'readwrite');
    const stored = deviceIdSchema.safeParse(await tx.store.get(DEVICE_ID_KEY));
    const id = stored.success ? stored.data : crypto.randomUUID();
    if (!stored.success) await tx.store.put(id, DEVICE_ID_KEY);
    await tx.done;
    return id;
  })().catch((error: unknown) => {
    known = undefined; // try again next time (a blocked or failing database), rather than keep the failure
    throw error;
  });
  return known;
}

/** Forgets the id read in this page, as a new page load would (tests). */
export function forgetDeviceIdForTests(): void {
  known = undefined;
}
