import { mount } from 'svelte';
import { Workbox } from 'workbox-window';
import App from './App.svelte';

mount(App, { target: document.getElementById('app')! });

// The service worker makes the app open offline; it exists only in the production build.
if ('serviceWorker' in navigator && import.meta.env.PROD) void new Workbox('/sw.js', { scope: '/' }).register();
