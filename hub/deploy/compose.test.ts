/**
 * hub/deploy/compose.yaml, read with the YAML parser cdk8s ships (`Yaml.load`, YAML 1.1 with merge keys, as Compose
 * reads it), checked against what the hub reads and answers. Values are interpolated as Compose does, from a sample
 * .env, and then validated by the hub's own env module.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Yaml } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { loadEnv } from '../src/env';
import { HUB_COMMAND, HUB_ENV_VARIABLES, HUB_PORT, LIVENESS_PATH, MIGRATE_COMMAND, READINESS_PATH, WORKER_COMMAND, WORKER_HTTP_PORT } from './deploy-contract';
import { containerCommand, inherited, readDockerfile } from './dockerfile-reader';

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string; target?: string };
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[]; disable?: boolean };
  stop_grace_period?: string;
  profiles?: string[];
}

const deployDir = path.dirname(fileURLToPath(import.meta.url));
const [compose] = Yaml.load(path.join(deployDir, 'compose.yaml')) as [{ services: Record<string, Service>; volumes: Record<string, unknown> }];
const services = compose.services;
const stages = readDockerfile(fs.readFileSync(path.join(deployDir, 'Dockerfile'), 'utf8'));

/** Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, $$. */
function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g, (whole, name: string | undefined, colon: string, op: string, arg: string) => {
    if (whole === '$$') return '$';
    const set = vars[name!];
    const missing = set === undefined || (colon === ':' && set === '');
    if (!missing) return set;
    if (op === '-') return arg;
    if (op === '?') throw new Error(`${name}: ${arg}`);
    return '';
  });
}

const dotEnv = { POSTGRES_PASSWORD: 'a-database-password', S3_SECRET_ACCESS_KEY: 'an-object-store-secret' };
const envOf = (service: Service, vars: Record<string, string> = dotEnv) =>
  Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), vars)]));

/** The services running the Edgeloop image, and what they run. */
const edgeloop = Object.entries(services).filter(([, s]) => s.image?.startsWith('edgeloop:'));
const imageStage = (s: Service) => stages.find((stage) => stage.name === s.build?.target) ?? stages.at(-1)!;
const runs = (s: Service) => [...containerCommand(stages, imageStage(s)).slice(0, 2), ...(s.command ?? [])];
const withCommand = (command: readonly string[]) => edgeloop.filter(([, s]) => runs(s).join(' ') === command.join(' '));
const hubs = withCommand(HUB_COMMAND);
const workers = withCommand(WORKER_COMMAND);

describe('hub/deploy/compose.yaml', () => {
  it('runs PostgreSQL 15, an S3 server, the migration step, two hubs and a worker, all from the Dockerfile', () => {
    expect(services.postgres?.image).toMatch(/^postgres:15/);
    expect(services.minio?.image).toMatch(/^minio\/minio/);
    expect(withCommand(MIGRATE_COMMAND).map(([name]) => name)).toEqual(['migrate']);
    expect(hubs.map(([name]) => name)).toEqual(['hub-1', 'hub-2']);
    expect(workers.filter(([, s]) => !s.profiles).map(([name]) => name)).toEqual(['worker']);
    for (const [name, s] of edgeloop) {
      expect(path.resolve(deployDir, s.build!.context, s.build!.dockerfile), name).toBe(path.join(deployDir, 'Dockerfile'));
      if (s.build?.target) expect(stages.map((stage) => stage.name), name).toContain(s.build.target);
    }
    expect(runs(services['worker-gpu']!)).toEqual([...WORKER_COMMAND]);
  });

  it('sets only variables the hub reads, with values the hub accepts', () => {
    for (const [name, s] of edgeloop) {
      const names = Object.keys(s.environment ?? {});
      expect(names.filter((n) => !HUB_ENV_VARIABLES.includes(n)), name).toEqual([]);
      const env = loadEnv(envOf(s));
      expect(env.DATABASE_URL, name).toBeDefined();
      // Migrations are the migrate service's step; nothing else runs them.
      expect(env.MIGRATE_ON_START, name).toBe(false);
      if (name !== 'migrate') expect(env.S3_ENDPOINT, name).toBeDefined();
    }
    // Without the two secrets in .env, Compose refuses to start rather than run with a default password.
    expect(() => envOf(services['hub-1']!, {})).toThrow(/POSTGRES_PASSWORD/);
  });

  it('points every hub and worker at the database, the object store and the bucket the compose file runs', () => {
    const minioPorts = services.minio!.command!;
    const s3Port = minioPorts[minioPorts.indexOf('--address') + 1]!.replace(':', '');
    expect(services.minio!.ports).toContain(`${s3Port}:${s3Port}`);
    for (const [name, s] of [...hubs, ...workers]) {
      const env = loadEnv(envOf(s));
      const database = new URL(env.DATABASE_URL!);
      expect(`${database.hostname}:${database.port}${database.pathname}`, name).toBe(`postgres:5432/${services.postgres!.environment!.POSTGRES_DB}`);
      expect(database.username).toBe(services.postgres!.environment!.POSTGRES_USER);
      expect(decodeURIComponent(database.password)).toBe(dotEnv.POSTGRES_PASSWORD);
      expect(new URL(env.S3_ENDPOINT!).host, name).toBe(`minio:${s3Port}`);
      expect(env.S3_ACCESS_KEY_ID).toBe(services.minio!.environment!.MINIO_ROOT_USER);
      expect(env.S3_SECRET_ACCESS_KEY).toBe(interpolate(services.minio!.environment!.MINIO_ROOT_PASSWORD!, dotEnv));
      expect(services.bucket!.command!.at(-1)).toBe(`store/${env.S3_BUCKET}`);
      expect(Object.keys(s.depends_on ?? {}).sort(), name).toEqual(['bucket', 'migrate']);
      expect(s.depends_on!.migrate!.condition, name).toBe('service_completed_successfully');
    }
  });

  it('names MinIO\'s published port in the presigned URLs hubs hand to browsers, and the internal address for their own calls', () => {
    const minioPorts = services.minio!.command!;
    const s3Port = minioPorts[minioPorts.indexOf('--address') + 1]!.replace(':', '');
    for (const [name, s] of hubs) {
      const env = loadEnv(envOf(s));
      const published = new URL(env.S3_PUBLIC_ENDPOINT!);
      expect(published.port, name).toBe(s3Port);
      expect(services.minio!.ports).toContain(`${published.port}:${s3Port}`);
      expect(published.host, name).not.toBe(new URL(env.S3_ENDPOINT!).host);
      // .env names the address browsers use.
      expect(loadEnv(envOf(s, { ...dotEnv, S3_PUBLIC_ENDPOINT: 'http://192.168.1.20:9000' })).S3_PUBLIC_ENDPOINT, name).toBe('http://192.168.1.20:9000');
    }
    // Workers hand no URLs to clients.
    for (const [name, s] of workers) expect(s.environment?.S3_PUBLIC_ENDPOINT, name).toBeUndefined();
  });

  it('runs training on the workers only, and gives every hub the same signing keys (workers none)', () => {
    const keyVolumes = new Set<string>();
    for (const [name, s] of hubs) {
      const env = loadEnv(envOf(s));
      expect(env.TRAINING_WORKER, name).toBe(false);
      const mount = (s.volumes ?? []).find((v) => v.split(':')[1] === env.SIGNING_KEYS_DIR);
      expect(mount, name).toBeDefined();
      keyVolumes.add(mount!.split(':')[0]!);
    }
    expect([...keyVolumes]).toHaveLength(1);
    expect(compose.volumes).toHaveProperty([...keyVolumes][0]!);
    for (const [name, s] of workers) {
      expect(s.environment?.SIGNING_KEYS_DIR, name).toBeUndefined();
      expect((s.volumes ?? []).some((v) => v.startsWith(`${[...keyVolumes][0]}:`)), name).toBe(false);
    }
  });

  it('probes each hub at its port and its readiness or liveness path, and the proxy spreads over ready hubs', () => {
    for (const [name, s] of hubs) {
      const env = loadEnv(envOf(s));
      expect(env.HUB_PORT, name).toBe(HUB_PORT);
      expect(env.HUB_HOST, name).toBe('0.0.0.0');
      const probe = /fetch\('([^']+)'\)/.exec(s.healthcheck!.test!.join(' '))?.[1];
      expect(probe, name).toBeDefined();
      const url = new URL(probe!);
      expect(Number(url.port), name).toBe(env.HUB_PORT);
      expect([READINESS_PATH, LIVENESS_PATH], name).toContain(url.pathname);
    }
    // Workers are probed on their own listener (WORKER_HTTP_PORT, on loopback inside the container).
    for (const [name, s] of workers) {
      const env = loadEnv(envOf(s));
      expect(env.WORKER_HTTP_PORT, name).toBe(WORKER_HTTP_PORT);
      const url = new URL(/fetch\('([^']+)'\)/.exec(s.healthcheck!.test!.join(' '))![1]!);
      expect(Number(url.port), name).toBe(env.WORKER_HTTP_PORT);
      expect(url.hostname, name).toBe(env.HUB_HOST);
      expect([READINESS_PATH, LIVENESS_PATH], name).toContain(url.pathname);
    }
    // The migration step serves no HTTP: it turns the image's HEALTHCHECK off rather than fail it.
    for (const [name, s] of withCommand(MIGRATE_COMMAND)) {
      expect(s.healthcheck?.disable === true || inherited(stages, imageStage(s), 'HEALTHCHECK').length === 0, name).toBe(true);
    }

    const caddyfile = fs.readFileSync(path.join(deployDir, 'Caddyfile'), 'utf8');
    const upstreams = /reverse_proxy\s+([^{]+)\{/.exec(caddyfile)![1]!.trim().split(/\s+/);
    expect(upstreams).toEqual(hubs.map(([name]) => `${name}:${HUB_PORT}`));
    expect(/health_uri\s+(\S+)/.exec(caddyfile)?.[1]).toBe(READINESS_PATH);
    expect(services.proxy!.volumes).toContain('./Caddyfile:/etc/caddy/Caddyfile:ro');
    const listen = /^:(\d+)\s*\{/m.exec(caddyfile)![1]!;
    expect(services.proxy!.ports).toContain(`${listen}:${listen}`);
    // Clients are told the proxy's address, and models are served from it.
    const env = loadEnv(envOf(hubs[0]![1]));
    expect(new URL(env.HUB_PUBLIC_URL!).port).toBe(listen);
    expect(env.CDN_BASE_URL).toBe(`${env.HUB_PUBLIC_URL}/cdn`);
  });

  it('gives every hub and worker longer to stop than its shutdown grace period', () => {
    for (const [name, s] of [...hubs, ...workers]) {
      const grace = loadEnv(envOf(s)).SHUTDOWN_GRACE_MS;
      const stop = /^(\d+)s$/.exec(s.stop_grace_period ?? '10s');
      expect(Number(stop![1]) * 1000, name).toBeGreaterThan(grace);
    }
  });
});
