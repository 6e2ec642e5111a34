import path from 'node:path';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';

const webRoot = path.resolve(import.meta.dirname, 'web-client');

// One config: Vite builds the web apps (web-client/ -> web-client/dist), Vitest runs every *.test.ts.
export default defineConfig({
  root: webRoot,
  plugins: [svelte()],
  build: {
    outDir: path.join(webRoot, 'dist'),
    emptyOutDir: true,
    rollupOptions: {
      input: { app: path.join(webRoot, 'index.html'), admin: path.join(webRoot, 'admin/index.html') },
    },
  },
  server: { proxy: { '/trpc': 'http://127.0.0.1:8787' } },
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
