import fs from 'node:fs';
import path from 'node:path';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import type { Plugin } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';
import { defineConfig } from 'vitest/config';
import { type BuiltChunk, type FirstEntry, PLAIN_WASM_BINARY, precacheTiers, tieredManifest } from './web-client/src/precache-plan.ts';
import { precompress } from './web-client/src/precompress-plugin.ts';

const webRoot = path.resolve(import.meta.dirname, 'web-client');
const outDir = path.join(webRoot, 'dist');
/** The PWA's version, sent with every prediction (web-client/src/app/device-identity.ts). */
const appVersion = (JSON.parse(fs.readFileSync(path.join(webRoot, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * The import graphs of the app's bundle and of the inference worker's, as they are written: the precache plan
 * (web-client/src/precache-plan.ts) reads them, starting from the app page's entry chunk (all of whose code a first
 * visit runs) and the inference worker's (whose import()s are the backends a device may never use).
 */
const built = { chunks: [] as BuiltChunk[], entries: [] as FirstEntry[] };
function recordChunks(): Plugin {
  return {
    name: 'edgeloop-record-chunks',
    apply: 'build',
    generateBundle(_, bundle) {
      for (const out of Object.values(bundle)) {
        if (out.type !== 'chunk') continue;
        const meta = out.viteMetadata;
        built.chunks.push({
          fileName: out.fileName,
          imports: out.imports,
          dynamicImports: out.dynamicImports,
          assets: [...(meta?.importedCss ?? []), ...(meta?.importedAssets ?? [])],
        });
        const facade = out.facadeModuleId ?? '';
        if (out.isEntry && facade === path.join(webRoot, 'index.html')) built.entries.push({ fileName: out.fileName, dynamicImports: 'first' });
        if (out.isEntry && facade.endsWith('/inference.worker.ts')) built.entries.push({ fileName: out.fileName, dynamicImports: 'later' });
      }
    },
  };
}

// One config: Vite builds the web apps (web-client/ -> web-client/dist), Vitest runs every *.test.ts.
export default defineConfig({
  root: webRoot,
  plugins: [
    svelte(),
    recordChunks(),
    // The PWA: a Workbox service worker (web-client/src/sw.ts) precaching the app shell, and the web app manifest.
    VitePWA({
      strategies: 'injectManifest',
      srcDir: 'src',
      filename: 'sw.ts',
      injectRegister: false,
      manifest: {
        name: 'Edgeloop',
        short_name: 'Edgeloop',
        description: 'Classify images on this device, offline too, and help the model learn.',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        background_color: '#f6f8f8',
        theme_color: '#0f4c5c',
        icons: [
          { src: '/icon-192.png', sizes: '192x192', type: 'image/png' },
          { src: '/icon-512.png', sizes: '512x512', type: 'image/png' },
          { src: '/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      injectManifest: {
        globPatterns: ['**/*.{js,css,html,wasm,png,svg,webmanifest}'],
        // The tfjs backends and their wasm binaries are a few MiB; they must be cached to classify offline.
        maximumFileSizeToCacheInBytes: 16 * 1024 * 1024,
        // Install precaches what the first visit runs; the service worker fetches the other backends when idle.
        manifestTransforms: [
          (entries) => {
            const tiers = precacheTiers(
              built.chunks,
              entries.map((entry) => entry.url),
              { entries: built.entries, pages: ['index.html'], deferred: [PLAIN_WASM_BINARY] },
            );
            return { manifest: tieredManifest(entries, tiers) as typeof entries };
          },
        ],
      },
    }),
    // Last: the gzip and brotli copies the hub serves (after the service worker is written).
    precompress(outDir),
  ],
  define: { __EDGELOOP_APP_VERSION__: JSON.stringify(appVersion) },
  worker: {
    format: 'es',
    plugins: () => [recordChunks()],
    // Everything the worker runs before its first model in one chunk beside its entry: one round trip, not a chain.
    rolldownOptions: { output: { codeSplitting: { groups: [{ name: 'inference-start', tags: ['$initial'] }] } } },
  },
  build: {
    outDir,
    emptyOutDir: true,
    rollupOptions: {
      input: { app: path.join(webRoot, 'index.html'), admin: path.join(webRoot, 'admin/index.html') },
    },
  },
  server: { proxy: { '/trpc': 'http://127.0.0.1:8787', '/cdn': 'http://127.0.0.1:8787' } },
  test: {
    root: import.meta.dirname,
    include: ['{hub,shared,training,web-client}/**/*.test.ts'],
    globalSetup: ['hub/test/postgres.global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
