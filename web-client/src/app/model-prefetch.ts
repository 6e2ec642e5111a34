/**
 * The page's first act for the model (main.ts calls it while the app's own scripts load): on a first visit, the
 * configured channel's model starts downloading and verifying at once; the app's first check takes the result.
 */
import { deviceId } from './device-identity';
import { prefetchChannelModel, prefetchHubKeys } from './model-store';
import { fromQuery, loadSettings } from './settings';

/** Starts what the model controller's first check will need, from the same settings it will read. */
export async function prefetchConfiguredModel(): Promise<void> {
  if (!navigator.onLine) return;
  // No service worker controls the page: its first visit (or the first since the site's data was cleared).
  prefetchHubKeys(!navigator.serviceWorker?.controller);
  const { settings } = fromQuery(await loadSettings(), new URLSearchParams(location.search));
  if (!settings.project || !settings.model) return;
  await prefetchChannelModel(
    { project: settings.project, model: settings.model, channel: settings.channel },
    deviceId().catch(() => null),
  );
}
