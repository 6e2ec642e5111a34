import { describe, expect, it } from 'vitest';
import { type BuiltChunk, PLAIN_WASM_BINARY, type PrecacheEntry, type PrecacheRules, precacheTiers, reachable, tieredManifest } from './precache-plan';

/**
 * The shape of the real build (web-client/dist): the app page's entry imports the app with import(); the app refers
 * to the inference worker's file; the worker starts on wasm (both binaries are its assets) and imports the other
 * backends with import(), which share a chunk; the admin's entry shares a chunk with the app.
 */
const chunk = (fileName: string, imports: string[] = [], dynamicImports: string[] = [], assets: string[] = []): BuiltChunk => ({ fileName, imports, dynamicImports, assets });
const CHUNKS: BuiltChunk[] = [
  // The page's bundle.
  chunk('assets/app-A.js', ['assets/preload-B.js'], ['assets/App-C.js']),
  chunk('assets/preload-B.js'),
  chunk('assets/App-C.js', ['assets/ui-shared-D.js'], [], ['assets/App-C.css', 'assets/inference.worker-E.js']),
  chunk('assets/ui-shared-D.js'),
  chunk('assets/admin-F.js', ['assets/ui-shared-D.js'], [], ['assets/admin-F.css']),
  // The worker's bundle.
  chunk('assets/inference.worker-E.js', [], ['assets/webgpu-G.js', 'assets/webgl-H.js'], ['assets/tfjs-backend-wasm-Ab3_x-9Z.wasm', 'assets/tfjs-backend-wasm-simd-Qr5tUv7w.wasm']),
  chunk('assets/webgpu-G.js', ['assets/kernels-I.js']),
  chunk('assets/webgl-H.js', ['assets/kernels-I.js']),
  chunk('assets/kernels-I.js'),
];
const RULES: PrecacheRules = {
  entries: [
    { fileName: 'assets/app-A.js', dynamicImports: 'first' },
    { fileName: 'assets/inference.worker-E.js', dynamicImports: 'later' },
  ],
  pages: ['index.html'],
  deferred: [PLAIN_WASM_BINARY],
};
const URLS = [
  'index.html',
  'admin/index.html',
  'manifest.webmanifest',
  'icon-192.png',
  ...CHUNKS.map((c) => c.fileName),
  ...new Set(CHUNKS.flatMap((c) => c.assets)),
];
const tiersOf = (tier: string, tiers: Map<string, string>) => [...tiers].filter(([, t]) => t === tier).map(([url]) => url).sort();

describe('the precache plan', () => {
  it('precaches what a first visit runs (the page, its app, the worker, the SIMD binary), fetches the other backends later, and leaves the admin to the network', () => {
    const tiers = precacheTiers(CHUNKS, URLS, RULES);
    expect(tiersOf('first', tiers)).toEqual(
      [
        'index.html',
        'manifest.webmanifest',
        'icon-192.png',
        'assets/app-A.js',
        'assets/preload-B.js',
        'assets/App-C.js',
        'assets/App-C.css',
        'assets/ui-shared-D.js',
        'assets/inference.worker-E.js',
        'assets/tfjs-backend-wasm-simd-Qr5tUv7w.wasm',
      ].sort(),
    );
    expect(tiersOf('later', tiers)).toEqual(['assets/kernels-I.js', 'assets/tfjs-backend-wasm-Ab3_x-9Z.wasm', 'assets/webgl-H.js', 'assets/webgpu-G.js']);
    expect(tiersOf('network', tiers)).toEqual(['admin/index.html', 'assets/admin-F.css', 'assets/admin-F.js']);
  });

  it("does not follow the worker's import()s from the page: the page's rule stops at the worker's entry", () => {
    const entries = new Set(RULES.entries.map((e) => e.fileName));
    expect(reachable(CHUNKS, ['assets/app-A.js'], true, entries)).toContain('assets/inference.worker-E.js');
    expect(reachable(CHUNKS, ['assets/app-A.js'], true, entries)).not.toContain('assets/webgpu-G.js');
    // Without the boundary, the page's import()s would pull every backend into the first tier.
    expect(reachable(CHUNKS, ['assets/app-A.js'], true)).toContain('assets/webgpu-G.js');
  });

  it('tells the plain wasm binary from the SIMD one by the names Vite gives them', () => {
    expect(PLAIN_WASM_BINARY.test('assets/tfjs-backend-wasm-BIA8cDLW.wasm')).toBe(true);
    expect(PLAIN_WASM_BINARY.test('assets/tfjs-backend-wasm-s1-_x9Zq.wasm')).toBe(true);
    expect(PLAIN_WASM_BINARY.test('assets/tfjs-backend-wasm-simd-BrM3BlWr.wasm')).toBe(false);
    expect(PLAIN_WASM_BINARY.test('assets/tfjs-backend-wasm-BIA8cDLW.js')).toBe(false);
  });

  it('refuses rules that name a chunk the build does not have, naming it', () => {
    expect(() => precacheTiers(CHUNKS, URLS, { ...RULES, entries: [{ fileName: 'assets/gone.js', dynamicImports: 'first' }] })).toThrow('precache plan: no built chunk named assets/gone.js');
  });

  it('writes the list the service worker gets: network entries dropped, later ones marked, any with a revision kept first', () => {
    const entries: PrecacheEntry[] = [
      { url: 'index.html', revision: 'r1' },
      { url: 'admin/index.html', revision: 'r2' },
      { url: 'assets/webgl-H.js', revision: null },
      { url: 'later-page.html', revision: 'r3' },
    ];
    const tiers = new Map([
      ['index.html', 'first'],
      ['admin/index.html', 'network'],
      ['assets/webgl-H.js', 'later'],
      ['later-page.html', 'later'],
    ] as const);
    expect(tieredManifest(entries, tiers)).toEqual([
      { url: 'index.html', revision: 'r1' },
      { url: 'assets/webgl-H.js', revision: null, later: true },
      // The later tier is keyed by URL: a file without a hash in its name goes with the first.
      { url: 'later-page.html', revision: 'r3' },
    ]);
  });
});
