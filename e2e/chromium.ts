/** Debian's Chromium (Playwright cannot download its own browsers here) and the flags the tests and benchmarks use. */
export const CHROMIUM = '/usr/bin/chromium';

// --enable-unsafe-webgpu is what gives navigator.gpu an adapter (SwiftShader) in headless Chromium.
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--enable-unsafe-webgpu'];
