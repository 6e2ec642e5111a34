import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../hub/test/free-port';
import { CHROMIUM } from './chromium';

const repo = path.resolve(import.meta.dirname, '..');

/** The model the PWA tests run: trained on the demo project and promoted to production before any test. */
export const E2E_MODEL = { project: 'fashion-mnist', model: 'fashion-cnn' };

/**
 * Starts the real hub (`edgeloop serve`) on embedded defaults in a fresh data directory, with the
 * demo project from the sample shipped in the repo, waits until its first dataset version exists, then trains a
 * small model through the queue and promotes it to production (`edgeloop publish`, as CI would).
 * Tests read the URL and the admin token from EDGELOOP_E2E_URL / EDGELOOP_E2E_TOKEN.
 */
export default async function startHub(): Promise<() => Promise<void>> {
  if (!fs.existsSync(CHROMIUM)) throw new Error('e2e needs Debian chromium: apt-get install chromium');
  // Debian's Chromium moves between versions: the log says which one these results are for.
  console.log(`e2e browser: ${(await promisify(execFile)(CHROMIUM, ['--version'])).stdout.trim()} (${CHROMIUM})`);
  if (!fs.existsSync(path.join(repo, 'web-client/dist/admin/index.html'))) throw new Error('build the web apps first: npm run build:web');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-e2e-'));
  const port = await freePort();
  const hub: ChildProcess = spawn(process.execPath, [path.join(repo, 'hub/bin/edgeloop.js'), 'serve'], {
    env: { ...process.env, HUB_DATA_DIR: dataDir, HUB_PORT: String(port), FASHION_MNIST_DIR: path.join(dataDir, 'no-debian-package') },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  let log = '';
  hub.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const deadline = Date.now() + 90_000;
  while (!/demo project: \d+ items/.test(log)) {
    if (hub.exitCode !== null || Date.now() > deadline) throw new Error(`hub did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  process.env.EDGELOOP_E2E_URL = `http://127.0.0.1:${port}`;
  process.env.EDGELOOP_E2E_TOKEN = fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim();
  await promisify(execFile)(
    process.execPath,
    [path.join(repo, 'hub/bin/edgeloop.js'), 'publish', E2E_MODEL.project, '--model', E2E_MODEL.model, '--epochs', '8', '--seed', '7', '--promote', 'production', '--reason', 'e2e model'],
    { env: { ...process.env, EDGELOOP_HUB_URL: process.env.EDGELOOP_E2E_URL, EDGELOOP_TOKEN: process.env.EDGELOOP_E2E_TOKEN }, timeout: 240_000 },
  ).catch((error: Error & { stderr?: string }) => {
    throw new Error(`publishing the e2e model failed: ${error.stderr ?? error.message}`);
  });
  return async () => {
    hub.kill('SIGTERM');
    await new Promise((r) => hub.once('exit', r));
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
}
