import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../hub/test/free-port';

const repo = path.resolve(import.meta.dirname, '..');

/**
 * Starts the real hub (`edgeloop serve`) on embedded defaults in a fresh data directory, with the
 * demo project from the sample shipped in the repo, and waits until its first dataset version exists.
 * Tests read the URL and the admin token from EDGELOOP_E2E_URL / EDGELOOP_E2E_TOKEN.
 */
export default async function startHub(): Promise<() => Promise<void>> {
  if (!fs.existsSync('/usr/bin/chromium')) throw new Error('e2e needs Debian chromium: apt-get install chromium');
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
  return async () => {
    hub.kill('SIGTERM');
    await new Promise((r) => hub.once('exit', r));
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
}
