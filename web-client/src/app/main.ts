import { mount } from 'svelte';
import App from './App.svelte';
import { registerServiceWorkerAfter } from './offline-assets';

mount(App, { target: document.getElementById('app')! });

// The service worker makes the app open offline. It starts once the first model is ready (or a few seconds in
// without one), so its install does not slow the first prediction down.
registerServiceWorkerAfter('edgeloop:model-ready', 3_000);
