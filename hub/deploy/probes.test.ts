/**
 * The deployment files against a real hub: its HTTP server (on PGlite and the embedded S3) answers the probe paths the
 * Dockerfile, compose.yaml, the Caddyfile and the Kubernetes manifests use, their health check commands pass against
 * it (and fail with no hub there), and the real CLI has the commands they run.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Yaml } from 'cdk8s';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../test/free-port';
import { type TestHub, createTestHub } from '../test/test-hub';
import { createHubServer, listen } from '../src/server';
import { startWorkerHttp } from '../src/worker-http';
import { CLI_ENTRY, HUB_COMMAND, HUB_PORT, LIVENESS_PATH, MIGRATE_COMMAND, READINESS_PATH, WORKER_COMMAND, WORKER_HTTP_PORT } from './deploy-contract';
import { healthcheckWords, inherited, readDockerfile } from './dockerfile-reader';
import { synth } from './k8s/edgeloop-chart';

const run = promisify(execFile);
const deployDir = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(deployDir, '../..');

/** Runs a health check command as its container would (`node -e ...`), with this machine's node; its exit code. */
async function exitCode(words: string[], env: Record<string, string> = {}): Promise<number> {
  expect(words[0]).toBe('node');
  try {
    await run(process.execPath, words.slice(1), { env: { ...process.env, ...env }, timeout: 20_000 });
    return 0;
  } catch (error) {
    return (error as { code?: number }).code ?? -1;
  }
}

describe('deployment probes and commands against a real hub', () => {
  let hub: TestHub;
  let port: number;
  let close: () => void;
  const webRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-web-'));

  beforeAll(async () => {
    hub = await createTestHub('pglite');
    const server = createHubServer(hub.deps, { webRoot });
    port = (await listen(server, 0, '127.0.0.1')).port;
    close = () => server.close();
  });
  afterAll(async () => {
    close();
    await hub.close();
  });

  it('answers 200 at the liveness and readiness paths the deployment files probe', async () => {
    const hubPod = (synth().find((m) => m.kind === 'Deployment') as unknown as IDeployment).spec!.template.spec!;
    const container = hubPod.containers[0]!;
    const k8sPaths = [container.readinessProbe, container.livenessProbe, container.startupProbe].map((p) => p!.httpGet!.path!);
    const caddyPath = /health_uri\s+(\S+)/.exec(fs.readFileSync(path.join(deployDir, 'Caddyfile'), 'utf8'))![1]!;
    const paths = new Set([LIVENESS_PATH, READINESS_PATH, caddyPath, ...k8sPaths]);
    expect(paths).toEqual(new Set([LIVENESS_PATH, READINESS_PATH]));
    for (const probe of paths) {
      const response = await fetch(`http://127.0.0.1:${port}${probe}`);
      expect(response.status, probe).toBe(200);
    }
    // A path the hub does not route is not a probe: it falls through to the web apps.
    expect((await fetch(`http://127.0.0.1:${port}/livez`)).status).not.toBe(200);
  });

  it('passes the image\'s HEALTHCHECK with the hub up, and fails it with nothing listening', async () => {
    const stages = readDockerfile(fs.readFileSync(path.join(deployDir, 'Dockerfile'), 'utf8'));
    const check = healthcheckWords(inherited(stages, stages.at(-1)!, 'HEALTHCHECK').at(-1)!.args)!;
    expect(await exitCode(check, { HUB_PORT: String(port) })).toBe(0);
    expect(await exitCode(check, { HUB_PORT: String(await freePort()) })).toBe(1);
  });

  it('passes the compose hubs\' health check against the hub on its port', async () => {
    const [compose] = Yaml.load(path.join(deployDir, 'compose.yaml')) as [{ services: Record<string, { healthcheck?: { test?: string[] } }> }];
    const test = compose.services['hub-1']!.healthcheck!.test!;
    expect(test[0]).toBe('CMD');
    const words = test.slice(1).map((word) => word.replace(`:${HUB_PORT}/`, `:${port}/`));
    expect(words).not.toEqual(test.slice(1)); // it named the hub's port, now this test hub's
    expect(await exitCode(words)).toBe(0);
  });

  it('answers the worker probes of the manifests and passes the compose workers\' health check on a worker\'s listener', async () => {
    const listener = await startWorkerHttp(hub.deps, { port: 0, host: '127.0.0.1', metricsToken: undefined });
    try {
      const workerPort = new URL(listener.url).port;
      const workerPods = synth().filter((m) => m.kind === 'Deployment' && String((m.metadata as { name: string }).name).startsWith('edgeloop-worker'));
      expect(workerPods).toHaveLength(2);
      for (const d of workerPods as unknown as IDeployment[]) {
        const container = d.spec!.template.spec!.containers[0]!;
        const metricsPath = d.spec!.template.metadata!.annotations!['prometheus.io/path']!;
        for (const probe of [container.readinessProbe!.httpGet!.path!, container.livenessProbe!.httpGet!.path!, metricsPath]) {
          expect((await fetch(`${listener.url}${probe}`)).status, probe).toBe(200);
        }
      }
      const [compose] = Yaml.load(path.join(deployDir, 'compose.yaml')) as [{ services: Record<string, { healthcheck?: { test?: string[] } }> }];
      const test = compose.services.worker!.healthcheck!.test!;
      const words = test.slice(1).map((word) => word.replace(`:${WORKER_HTTP_PORT}/`, `:${workerPort}/`));
      expect(words).not.toEqual(test.slice(1));
      expect(await exitCode(words)).toBe(0);
      await listener.close();
      expect(await exitCode(words)).toBe(1);
    } finally {
      await listener.close();
    }
  });

  it('has the CLI commands the image, compose and the manifests run', async () => {
    expect([HUB_COMMAND, WORKER_COMMAND, MIGRATE_COMMAND].map((c) => c[1])).toEqual([CLI_ENTRY, CLI_ENTRY, CLI_ENTRY]);
    const { stdout } = await run(process.execPath, [CLI_ENTRY, '--help'], { cwd: root, timeout: 60_000 });
    const commands = [...stdout.matchAll(/^ {2}(\S+)/gm)].map((m) => m[1]);
    for (const command of [HUB_COMMAND, WORKER_COMMAND, MIGRATE_COMMAND]) expect(commands).toContain(command[2]);
  });
});
