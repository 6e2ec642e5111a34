import { startInferenceWorker } from './inference-worker-start';
import { localDb } from './local-db';
import { registerServiceWorkerAfter } from './offline-assets';

// The inference worker first: its scripts download and compile while the app's own are evaluated and mounted.
startInferenceWorker();
// The device's database: opening it can take 100 ms on a first visit, and the settings, the remembered model and the
// rollout check all wait for it.
localDb().catch(() => {}); // each reader reports its own failure

// The service worker makes the app open offline. It starts once the first model is ready (or a few seconds in
// without one), so its install does not slow the first prediction down.
registerServiceWorkerAfter('edgeloop:model-ready', 3_000);

// A first visit starts downloading and verifying the model as soon as that code is there, while the app's loads.
void import('./model-prefetch')
  .then((module) => module.prefetchConfiguredModel())
  .catch(() => {}); // the app's own check says what failed
const [{ mount }, { default: App }] = await Promise.all([import('svelte'), import('./App.svelte')]);
mount(App, { target: document.getElementById('app')! });
