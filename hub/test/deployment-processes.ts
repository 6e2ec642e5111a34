/**
 * A deployment beyond one machine, on loopback, for tests and benchmarks: the S3 API server as its own process, and
 * hub (`edgeloop serve`) and worker (`edgeloop worker`) processes sharing one PostgreSQL database and that store, as
 * hubs and workers on other machines would (MIGRATE_ON_START false: `edgeloop migrate` runs once, first). Every
 * process can be killed with any signal and a hub restarted on its port; their CPU seconds are read from /proc.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { loadEnv } from '../src/env';
import { childEnv } from './child-env';
import { type Hub, openHub } from '../src/hub';
import { createLogger } from '../src/logger';
import { freePort } from './free-port';

const HUB_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(HUB_DIR, 'bin/edgeloop.js');
const S3_SERVER = path.join(HUB_DIR, 'test/s3-server.process.ts');
/** How long a process may take to say it is ready: tsx compiles the hub on a first start, slowly on a busy machine. */
const START_TIMEOUT_MS = 90_000;
/** The most of a process's output kept for error messages. */
const LOG_KEEP = 256 * 1024;

/** One process of the deployment: its output so far (every life), and how to stop it. */
export interface DeploymentProcess {
  name: string;
  /** The running child, or the last one. */
  child: ChildProcess;
  running(): boolean;
  /** stdout and stderr of every start so far (the last LOG_KEEP characters). */
  log(): string;
  /** Sends `signal` and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** CPU seconds (user + system) of every start so far, its threads included; null where /proc is not there. */
  cpuSeconds(): number | null;
}

export interface HubProcess extends DeploymentProcess {
  /** http://127.0.0.1:<port>: the same port after a restart. */
  url: string;
  /** Starts it again (after a kill) on its port and data directory; resolves once it listens. */
  restart(): Promise<void>;
}

export interface Deployment {
  databaseUrl: string;
  s3Endpoint: string;
  /** The settings every hub and worker process gets (DATABASE_URL, S3_*, MIGRATE_ON_START=false ...). */
  env: Record<string, string>;
  s3: DeploymentProcess;
  hubs: HubProcess[];
  workers: DeploymentProcess[];
  /** `edgeloop migrate`: its stdout; throws with its output when it fails. */
  migrate(): Promise<string>;
  /** `edgeloop serve` with TRAINING_WORKER=false; resolves once it listens. */
  startHub(name: string): Promise<HubProcess>;
  /** `edgeloop worker --name <name>`; resolves once it takes training jobs. */
  startWorker(name: string): Promise<DeploymentProcess>;
  /** Any other `edgeloop` command with the deployment's settings: its exit code and output. */
  cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** The hub's I/O in this process on the same database and store (setup and checks), closed by stop(). */
  openHub(): Promise<Hub>;
  /** SIGKILLs every process, closes what openHub opened, removes the directories. */
  stop(): Promise<void>;
}

/** A tRPC mutation over HTTP with a token (as a CLI or CI job sends it): its data, or an error naming the status and answer. */
export async function trpcMutation<T>(hubUrl: string, secret: string, procedure: string, input: unknown): Promise<T> {
  const response = await fetch(`${hubUrl}/trpc/${procedure}`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(input) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${procedure} answered ${response.status}: ${text}`);
  return (JSON.parse(text) as { result: { data: T } }).result.data;
}

/** A new database on the PostgreSQL server at `adminUrl` (a superuser URL of its `postgres` database), and its removal. */
export async function createDatabase(adminUrl: string, prefix = 'edgeloop_deployment'): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${crypto.randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  return {
    url: adminUrl.replace(/\/postgres$/, `/${name}`),
    async drop() {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

/**
 * Starts the S3 API server process for a deployment on `databaseUrl` (an empty database: call migrate() first).
 * Hubs and workers are started with startHub/startWorker. `logLevel` is what the hubs log (info, the default: each
 * request, their kills and restarts in a failure's message; warn in a benchmark, where a line per request costs CPU).
 * `settings`: more of the hub's settings for every hub and worker process.
 */
export async function startDeployment(options: { databaseUrl: string; logLevel?: 'info' | 'warn'; settings?: Record<string, string> }): Promise<Deployment> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-deployment-'));
  const processes: DeploymentProcess[] = [];
  const opened: Hub[] = [];
  const credentials = { S3_ACCESS_KEY_ID: `EDGELOOP${crypto.randomBytes(6).toString('hex').toUpperCase()}`, S3_SECRET_ACCESS_KEY: crypto.randomBytes(30).toString('base64url') };
  const common = { S3_BUCKET: 'edgeloop', S3_REGION: 'us-east-1', ...credentials, LOG_FORMAT: 'json' };

  const s3 = await startProcess('s3', [process.execPath, '--import', 'tsx', S3_SERVER], { ...common, HUB_DATA_DIR: path.join(root, 's3'), EMBEDDED_S3_PORT: '0' }, { log: /s3 listening on (http:\/\/\S+)/ });
  processes.push(s3.process);
  const env: Record<string, string> = {
    ...common,
    DATABASE_URL: options.databaseUrl,
    S3_ENDPOINT: s3.match[1]!,
    S3_FORCE_PATH_STYLE: 'true',
    MIGRATE_ON_START: 'false',
    DEMO_PROJECT: 'false',
    LOG_LEVEL: options.logLevel ?? 'info',
    // Every hub that signs must use the same keys (hub/src/env.ts).
    SIGNING_KEYS_DIR: path.join(root, 'keys'),
    ...options.settings,
  };
  const hubs: HubProcess[] = [];
  const workers: DeploymentProcess[] = [];

  const deployment: Deployment = {
    databaseUrl: options.databaseUrl,
    s3Endpoint: env.S3_ENDPOINT!,
    env,
    s3: s3.process,
    hubs,
    workers,
    async migrate() {
      const result = await deployment.cli(['migrate']);
      if (result.code !== 0) throw new Error(`edgeloop migrate exited ${result.code}:\n${result.stdout}${result.stderr}`);
      return result.stdout;
    },
    async startHub(name) {
      const port = await freePort();
      const hubEnv = { ...env, HUB_DATA_DIR: path.join(root, name), HUB_HOST: '127.0.0.1', HUB_PORT: String(port), TRAINING_WORKER: 'false' };
      const url = `http://127.0.0.1:${port}`;
      const lives: DeploymentProcess[] = [];
      const start = async () => {
        const started = await startProcess(name, [process.execPath, CLI, 'serve'], hubEnv, { url: `${url}/healthz` });
        lives.push(started.process);
        processes.push(started.process);
      };
      await start();
      const current = () => lives[lives.length - 1]!;
      const hub: HubProcess = {
        name,
        url,
        get child() {
          return current().child;
        },
        running: () => current().running(),
        log: () => lives.map((life) => life.log()).join(`\n--- ${name} restarted ---\n`),
        kill: (signal) => current().kill(signal),
        cpuSeconds: () => sumCpu(lives),
        async restart() {
          if (current().running()) throw new Error(`${name} is running: kill it before restarting it`);
          await start();
        },
      };
      hubs.push(hub);
      return hub;
    },
    async startWorker(name) {
      // Its start is known from its log: info, whatever the hubs log (a worker logs little besides its runs' lines).
      const workerEnv = { ...env, HUB_DATA_DIR: path.join(root, name), LOG_LEVEL: 'info' };
      const started = await startProcess(name, [process.execPath, CLI, 'worker', '--name', name], workerEnv, { log: /training worker \S+ is taking jobs/ });
      processes.push(started.process);
      workers.push(started.process);
      return started.process;
    },
    cli(args) {
      const child = spawn(process.execPath, [CLI, ...args], { env: childEnv({ ...env, HUB_DATA_DIR: path.join(root, 'cli') }), stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      return new Promise((resolve, reject) => {
        child.once('error', reject);
        child.once('close', (code) => resolve({ code, stdout, stderr }));
      });
    },
    async openHub() {
      const hub = await openHub(loadEnv({ ...env, HUB_DATA_DIR: path.join(root, 'in-process') }), createLogger('warn'));
      opened.push(hub);
      return hub;
    },
    async stop() {
      await Promise.all(processes.map((p) => p.kill('SIGKILL')));
      for (const hub of opened.splice(0)) await hub.close();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
  return deployment;
}

/**
 * Spawns `command` and resolves once it is ready: its output matches `log`, or `url` answers 200 (the match is then
 * empty). Rejects with its output if it exits or times out first.
 */
export async function startProcess(
  name: string,
  command: string[],
  settings: Record<string, string>,
  ready: { log: RegExp } | { url: string },
): Promise<{ process: DeploymentProcess; match: RegExpMatchArray }> {
  const child = spawn(command[0]!, command.slice(1), { env: childEnv(settings), stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  let cpuAtExit: number | null = null;
  const readCpu = () => (child.pid === undefined ? null : processCpuSeconds(child.pid));
  // The last reading before it exits (a killed process's /proc entry goes with it).
  const cpuPoll = setInterval(() => (cpuAtExit = readCpu() ?? cpuAtExit), 500);
  void exit.then(() => clearInterval(cpuPoll));
  const matched = new Promise<RegExpMatchArray>((resolve, reject) => {
    const onData = (chunk: string) => {
      text = (text + chunk).slice(-LOG_KEEP);
      const match = 'log' in ready ? text.match(ready.log) : null;
      if (match) resolve(match);
    };
    if ('url' in ready) {
      const poll = async () => {
        while (!exited) {
          const status = await fetch(ready.url).then((r) => r.status, () => 0);
          if (status === 200) return resolve([] as unknown as RegExpMatchArray);
          await new Promise((wait) => setTimeout(wait, 200));
        }
      };
      void poll();
    }
    child.stdout!.setEncoding('utf8').on('data', onData);
    child.stderr!.setEncoding('utf8').on('data', onData);
    void exit.then(() => reject(new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${text}`)));
    setTimeout(() => reject(new Error(`${name} was not ready within ${START_TIMEOUT_MS} ms:\n${text}`)), START_TIMEOUT_MS).unref();
  });
  const handle: DeploymentProcess = {
    name,
    child,
    running: () => !exited,
    log: () => text,
    async kill(signal = 'SIGKILL') {
      if (exited) return;
      cpuAtExit = readCpu() ?? cpuAtExit;
      child.kill(signal);
      await exit;
    },
    cpuSeconds: () => (exited ? cpuAtExit : (readCpu() ?? cpuAtExit)),
  };
  try {
    return { process: handle, match: await matched };
  } catch (error) {
    await handle.kill('SIGKILL');
    throw error;
  }
}

function sumCpu(processes: DeploymentProcess[]): number | null {
  const seconds = processes.map((p) => p.cpuSeconds());
  return seconds.every((s) => s === null) ? null : seconds.reduce<number>((sum, s) => sum + (s ?? 0), 0);
}

/** utime + stime of a process (all its threads), from /proc; null when it is gone or there is no /proc. */
export function processCpuSeconds(pid: number): number | null {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ on Linux
  } catch {
    return null;
  }
}
