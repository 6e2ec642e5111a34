/// <reference types="vite/client" />

/** web-client/package.json's version, set by vite.config.ts's `define`. */
declare const __EDGELOOP_APP_VERSION__: string;
