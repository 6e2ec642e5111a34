/**
 * Which built files the service worker precaches as it installs, which it fetches later, and which it leaves to the
 * network. First: what a first visit needs to open and classify offline (the app's page and scripts, the inference
 * worker and the backend it starts on). Later, when the device is idle: what the app may load on some devices (the
 * other backends, the binary for browsers without WebAssembly SIMD). Network: the rest (the admin app, which needs
 * the hub anyway). Pure: vite.config.ts runs it over the bundles' import graphs when it writes the precache list.
 */

/** A built JS chunk as the bundler reports it; file names are relative to the build's output folder. */
export interface BuiltChunk {
  fileName: string;
  /** Chunks it loads before it runs (static imports). */
  imports: string[];
  /** Chunks it may load later (import()). */
  dynamicImports: string[];
  /** Other files it loads or refers to: CSS, wasm binaries, images. */
  assets: string[];
}

/** An entry of Workbox's precache list (revision null: the name carries a content hash). */
export interface PrecacheEntry {
  url: string;
  revision: string | null;
  integrity?: string;
}

export type PrecacheTier = 'first' | 'later' | 'network';

/** What the service worker gets: the entries, those to fetch when idle marked `later`. */
export type TieredEntry = PrecacheEntry & { later?: true };

/**
 * tfjs-backend-wasm's plain binary, for browsers without WebAssembly SIMD (every browser with WebGPU has SIMD; the
 * other binary is named tfjs-backend-wasm-simd-<hash>.wasm). Vite names assets <name>-<8-character hash>.<ext>.
 */
export const PLAIN_WASM_BINARY = /(^|\/)tfjs-backend-wasm-[\w-]{8}\.wasm$/;

/** An entry chunk a first visit runs, and whether what it imports with import() is needed first too. */
export interface FirstEntry {
  fileName: string;
  /** 'first': the page's own code, split for speed; 'later': optional parts (the worker's other backends). */
  dynamicImports: 'first' | 'later';
}

export interface PrecacheRules {
  /** The app page's entry chunk and the inference worker's. */
  entries: FirstEntry[];
  /** The pages a first visit opens (the app's); other pages (the admin's) are left to the network. */
  pages: string[];
  /** Files the entries lead to that only some devices load: fetched later. */
  deferred: RegExp[];
}

/**
 * Every file `roots` lead to: through static imports and assets, and through import() too when `dynamic`. Files in
 * `boundary` (other entries, which have rules of their own) are reached but not followed.
 */
export function reachable(chunks: readonly BuiltChunk[], roots: readonly string[], dynamic: boolean, boundary: ReadonlySet<string> = new Set()): Set<string> {
  const byName = new Map(chunks.map((chunk) => [chunk.fileName, chunk]));
  const seen = new Set<string>();
  const stack = [...roots];
  while (stack.length) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const chunk = byName.get(file);
    if (!chunk || (boundary.has(file) && !roots.includes(file))) continue;
    stack.push(...chunk.imports, ...chunk.assets, ...(dynamic ? chunk.dynamicImports : []));
  }
  return seen;
}

/** The tier of each file (by its URL in the precache list). */
export function precacheTiers(chunks: readonly BuiltChunk[], urls: readonly string[], rules: PrecacheRules): Map<string, PrecacheTier> {
  const missing = rules.entries.filter((entry) => !chunks.some((chunk) => chunk.fileName === entry.fileName));
  if (missing.length) throw new Error(`precache plan: no built chunk named ${missing.map((entry) => entry.fileName).join(', ')}`);
  const entries = new Set(rules.entries.map((entry) => entry.fileName));
  const first = new Set(rules.entries.flatMap((entry) => [...reachable(chunks, [entry.fileName], entry.dynamicImports === 'first', entries)]));
  const any = reachable(chunks, [...entries], true);
  const inGraph = new Set(chunks.flatMap((chunk) => [chunk.fileName, ...chunk.assets]));
  const tiers = new Map<string, PrecacheTier>();
  for (const url of urls) {
    let tier: PrecacheTier;
    if (rules.deferred.some((pattern) => pattern.test(url)) && any.has(url)) tier = 'later';
    else if (first.has(url)) tier = 'first';
    else if (any.has(url)) tier = 'later';
    else if (url.endsWith('.html')) tier = rules.pages.includes(url) ? 'first' : 'network';
    // Icons and the web manifest: no chunk refers to them, the page and the browser do.
    else tier = inGraph.has(url) ? 'network' : 'first';
    tiers.set(url, tier);
  }
  return tiers;
}

/** The precache list as the service worker gets it: network-tier entries dropped, later ones marked. */
export function tieredManifest(entries: readonly PrecacheEntry[], tiers: ReadonlyMap<string, PrecacheTier>): TieredEntry[] {
  const out: TieredEntry[] = [];
  for (const entry of entries) {
    const tier = tiers.get(entry.url) ?? 'first';
    if (tier === 'first') out.push(entry);
    // Later entries are fetched by the service worker's own code, which keys them by URL: hashed names only.
    else if (tier === 'later') out.push(entry.revision === null ? { ...entry, later: true } : entry);
  }
  return out;
}

/** The message a page posts to the service worker to have the later tier fetched now (the device is idle). */
export const PRECACHE_LATER = 'edgeloop:precache-later';

/** The service worker's answer: how many later files it fetched now, of how many. */
export interface PrecacheLaterResult {
  fetched: number;
  total: number;
  error?: string;
}
