/** Debian's Chromium (Playwright cannot download its own browsers here) and the flags the tests and benchmarks use. */
export const CHROMIUM = '/usr/bin/chromium';

// --enable-unsafe-webgpu is what gives navigator.gpu an adapter (SwiftShader) in headless Chromium. The fake media
// flags give getUserMedia a synthetic camera (a moving test pattern) and grant it without a prompt (the live view's test).
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--enable-unsafe-webgpu',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
];
