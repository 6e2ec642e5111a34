/**
 * The page's first act for the model (main.ts calls it while the app's own scripts load): on a first visit, the
 * configured channel's model starts downloading and verifying at once, and goes into the inference worker as soon as
 * it is verified; the app's first check takes the result, and its load of the same model finds it loaded.
 */
import { backendOrder, servingWorker } from './classifier';
import { deviceId } from './device-identity';
import { prefetchChannelModel, prefetchHubKeys } from './model-store';
import { DEFAULT_SETTINGS, fromQuery, loadSettings } from './settings';

/** Starts what the model controller's first check will need, from the same settings it will read. */
export async function prefetchConfiguredModel(): Promise<void> {
  if (!navigator.onLine) return;
  // No service worker controls the page: its first visit (or the first since the site's data was cleared).
  const firstVisit = !navigator.serviceWorker?.controller;
  prefetchHubKeys(firstVisit);
  // A first visit takes the channel from its link at once, without waiting for a database that can take 100 ms to
  // open and holds no model yet. (Should it hold settings naming another channel, the app checks that one itself.)
  const { settings } = fromQuery(firstVisit ? DEFAULT_SETTINGS : await loadSettings(), new URLSearchParams(location.search));
  if (!settings.project || !settings.model) return;
  const check = await prefetchChannelModel(
    { project: settings.project, model: settings.model, channel: settings.channel },
    deviceId().catch(() => null),
    { firstVisit },
  );
  const model = await check;
  // Nothing measured on a first visit: the order the app's first load will ask for too.
  if (model && firstVisit) await servingWorker().load(model, backendOrder(settings.backend, undefined));
}
