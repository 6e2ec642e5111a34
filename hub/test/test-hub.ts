import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROLES, type Role } from '@edgeloop/shared';
import { TRPCError } from '@trpc/server';
import postgres from 'postgres';
import { inject } from 'vitest';
import { appRouter } from '../src/api/app.router';
import { createCallerFactory } from '../src/api/trpc';
import { authenticate, createToken, isProjectScopedRole } from '../src/auth/token.service';
import { listProjects } from '../src/projects/project.service';
import { type DatabaseHandle, type QueueConnection, openPglite, openPostgres } from '../src/db/database';
import type { HubDeps } from '../src/deps';
import { openJobQueue } from '../src/jobs/job-queue';
import { createLogger } from '../src/logger';
import { monitorRequestsSettled } from '../src/monitoring/monitor-request';
import { openKeyRing } from '../src/registry/key-ring';
import { type EmbeddedS3, startEmbeddedS3 } from '../src/storage/embedded-s3';
import { createS3ObjectStore } from '../src/storage/object-store';

/** How a procedure call was refused (its tRPC code and message), or null when it was not. */
export async function refusal(call: Promise<unknown>): Promise<{ code: string; message: string } | null> {
  try {
    await call;
    return null;
  } catch (error) {
    if (error instanceof TRPCError) return { code: error.code, message: error.message };
    throw error;
  }
}

export type DatabaseKind = 'pglite' | 'postgres';

/** The databases an integration suite runs against: PGlite always, PostgreSQL 15 where the setup started one. */
export const DATABASES: { kind: DatabaseKind; skip: string | false }[] = [
  { kind: 'pglite', skip: false },
  { kind: 'postgres', skip: inject('postgresUrl') ? false : 'PostgreSQL 15 is not installed (apt-get install postgresql)' },
];

export interface TestHub {
  deps: HubDeps;
  s3: EmbeddedS3;
  /** For a second queue client on the same database, as another worker process would have. */
  queueConnection: QueueConnection;
  /** The PostgreSQL database's URL (for a second hub process on it: openSecondHub); null on PGlite. */
  databaseUrl: string | null;
  /**
   * A tRPC caller holding a real token of `role`, named `test-<role>`. Its scope: `projects` when given; otherwise
   * device, labeler and ci tokens get every project that exists at the call (so create projects first), and
   * admin and engineer tokens act on every project.
   */
  as(role: Role, options?: TokenOptions): Promise<ReturnType<typeof callerFactory>>;
  anonymous(): ReturnType<typeof callerFactory>;
  /** A tRPC caller holding this secret (null caller when the hub does not accept it). */
  withSecret(secret: string): Promise<ReturnType<typeof callerFactory>>;
  secretFor(role: Role, options?: TokenOptions): Promise<string>;
  close(): Promise<void>;
}

export interface TokenOptions {
  projects?: string[];
}

const callerFactory = createCallerFactory(appRouter);

/** A hub on a fresh database of `kind` and a fresh embedded S3 server, with no HTTP in between. */
export async function createTestHub(kind: DatabaseKind): Promise<TestHub> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-test-'));
  const { database, dropDatabase, url } = kind === 'pglite' ? { database: await openPglite(undefined), dropDatabase: async () => {}, url: null } : await freshPostgres();
  const s3 = await startEmbeddedS3({ directory: path.join(tmp, 's3'), bucket: 'edgeloop' });
  const store = createS3ObjectStore({ endpoint: s3.endpoint, region: 'us-east-1', bucket: s3.bucket, credentials: s3.credentials, forcePathStyle: true });
  const queue = await openJobQueue(database.queueConnection);
  const log = createLogger('silent');
  const deps: HubDeps = {
    db: database.db,
    store,
    queue,
    now: () => new Date(),
    log,
    cdnBaseUrl: '/cdn',
    cacheDir: path.join(tmp, 'cache'),
    keys: openKeyRing({ dir: path.join(tmp, 'keys'), db: database.db, log }),
  };
  // As the server at start: the key exists before any version, so tests that write version rows directly can sign.
  await deps.keys.ready();
  // One token per role and scope, made on first use.
  const secrets = new Map<string, string>();
  const secretFor = async (role: Role, options: TokenOptions = {}) => {
    const projects = options.projects ?? (isProjectScopedRole(role) ? (await listProjects(deps)).map((p) => p.slug) : null);
    const key = JSON.stringify([role, projects]);
    if (!secrets.has(key)) secrets.set(key, (await createToken(deps, { name: `test-${role}`, role, createdBy: 'test', projects })).secret);
    return secrets.get(key)!;
  };
  return {
    deps,
    s3,
    queueConnection: database.queueConnection,
    databaseUrl: url,
    secretFor,
    async as(role, options) {
      const caller = await authenticate(deps, await secretFor(role, options));
      return callerFactory({ deps, caller });
    },
    anonymous: () => callerFactory({ deps, caller: null }),
    withSecret: async (secret) => callerFactory({ deps, caller: await authenticate(deps, secret) }),
    async close() {
      await monitorRequestsSettled(deps);
      await queue.stop({ graceful: false, wait: true });
      await s3.close();
      await database.close();
      await dropDatabase();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/**
 * Another hub process on `hub`'s PostgreSQL database, as a second replica has it: its own connection pool and queue
 * client, the same object store and keys directory.
 */
export async function openSecondHub(hub: TestHub): Promise<{ deps: HubDeps; close(): Promise<void> }> {
  if (!hub.databaseUrl) throw new Error('a second hub process needs PostgreSQL (PGlite is one process\'s)');
  const database = await openPostgres(hub.databaseUrl, { migrate: false });
  const queue = await openJobQueue(database.queueConnection);
  const deps: HubDeps = { ...hub.deps, db: database.db, queue, keys: openKeyRing({ dir: hub.deps.keys.dir, db: database.db, log: hub.deps.log }) };
  return {
    deps,
    async close() {
      await queue.stop({ graceful: false, wait: true });
      await database.close();
    },
  };
}

/** A new database on the run's PostgreSQL server, migrated unless `migrate` is false; dropDatabase removes it. */
export async function freshPostgres(options: { migrate?: boolean } = {}): Promise<{ database: DatabaseHandle; url: string; dropDatabase: () => Promise<void> }> {
  const adminUrl = inject('postgresUrl');
  if (!adminUrl) throw new Error('no PostgreSQL server for this run');
  const name = `edgeloop_test_${crypto.randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = adminUrl.replace(/\/postgres$/, `/${name}`);
  const database = await openPostgres(url, options);
  return {
    database,
    url,
    async dropDatabase() {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

export { ROLES };
