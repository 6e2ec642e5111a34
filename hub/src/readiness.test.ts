import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../test/free-port';
import { DATABASES, createTestHub, freshPostgres } from '../test/test-hub';
import { migrateDatabase } from './cli/migrate-command';
import { openPostgres } from './db/database';
import { shippedMigrations } from './db/migration-status';
import { loadEnv } from './env';
import { openHub } from './hub';
import { QUEUES } from './jobs/job-queue';
import { createLogger } from './logger';
import { createReadiness } from './readiness';
import { createS3ObjectStore } from './storage/object-store';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const pendingText = (n: number) => `${n} pending: run \`edgeloop migrate\``;

describe.each(DATABASES)('readiness on $kind', ({ kind, skip }) => {
  it.skipIf(skip)('is ready while the database and object store answer and the schema is current; names the migrations otherwise', async () => {
    const hub = await createTestHub(kind);
    cleanups.push(() => hub.close());
    const readiness = createReadiness(hub.deps);
    expect(await readiness.check()).toEqual({ status: 200, body: { ready: true, checks: { database: 'ok', objectStore: 'ok', migrations: 'ok' } } });

    // The database forgets its newest migration, as one an older release migrated would look.
    await hub.deps.db.execute(sql`delete from drizzle.__drizzle_migrations where created_at = (select max(created_at) from drizzle.__drizzle_migrations)`);
    expect(await readiness.check()).toEqual({ status: 503, body: { ready: false, checks: { database: 'ok', objectStore: 'ok', migrations: pendingText(1) } } });
    // pg-boss's schema behind this build's (an older release's) is one more.
    await hub.deps.db.execute(sql`update pgboss.version set version = version - 1`);
    expect(await readiness.check()).toEqual({ status: 503, body: { ready: false, checks: { database: 'ok', objectStore: 'ok', migrations: pendingText(2) } } });
    await hub.deps.db.execute(sql`update pgboss.version set version = version + 1`);

    readiness.shutDown();
    expect(await readiness.check()).toEqual({ status: 503, body: { ready: false, reason: 'shutting down' } });
  });

  it.skipIf(skip)('a database never migrated: a hub with MIGRATE_ON_START=false refuses to start until `edgeloop migrate` has run, then starts, is ready and queues jobs', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-readiness-'));
    cleanups.push(async () => fs.rmSync(dataDir, { recursive: true, force: true }));
    let databaseUrl: string | undefined;
    if (kind === 'postgres') {
      const fresh = await freshPostgres({ migrate: false });
      await fresh.database.close();
      databaseUrl = fresh.url;
      cleanups.push(fresh.dropDatabase);
    }
    const env = loadEnv({ HUB_DATA_DIR: dataDir, DATABASE_URL: databaseUrl, MIGRATE_ON_START: 'false', LOG_LEVEL: 'silent' });
    const shipped = shippedMigrations();

    // Not migrating at start, the hub leaves pg-boss's schema alone too: it says what to run instead of making it.
    await expect(openHub(env)).rejects.toThrow("the job queue's schema (pgboss) is not installed: run this release's `edgeloop migrate` first (MIGRATE_ON_START is false)");

    expect(await migrateDatabase(env)).toEqual({ applied: shipped, ahead: 0, jobQueue: 'installed' });
    expect(await migrateDatabase(env)).toEqual({ applied: [], ahead: 0, jobQueue: 'current' });

    const migrated = await openHub(env);
    cleanups.push(() => migrated.close());
    expect(await createReadiness(migrated.deps).check()).toEqual({ status: 200, body: { ready: true, checks: { database: 'ok', objectStore: 'ok', migrations: 'ok' } } });
    const jobId = await migrated.deps.queue.send(QUEUES.rolloutCheck, {});
    expect(await migrated.deps.queue.getJobById(QUEUES.rolloutCheck, jobId!)).toMatchObject({ id: jobId, state: 'created' });

    // A newer release migrated (expanded) the schema: this build still serves it, and migrate leaves it alone.
    await migrated.deps.db.execute(sql`insert into drizzle.__drizzle_migrations (hash, created_at) values ('from-a-newer-release', ${shipped.at(-1)!.when + 1})`);
    expect((await createReadiness(migrated.deps).check()).status).toBe(200);
    // (On PGlite the open hub holds the data directory, so migrate runs on PostgreSQL only here.)
    if (kind === 'postgres') expect(await migrateDatabase(env)).toEqual({ applied: [], ahead: 1, jobQueue: 'current' });
  });
});

describe('readiness checks', () => {
  const storeAt = (endpoint: string) =>
    createS3ObjectStore({ endpoint, region: 'us-east-1', bucket: 'edgeloop', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, forcePathStyle: true });

  it('answer 503 within their bound when the database and object store accept connections and never answer', async () => {
    // A server that takes connections and says nothing: a hung database or store.
    const sockets = new Set<net.Socket>();
    let closing = false;
    const silent = net.createServer((socket) => (closing ? socket.destroy() : void sockets.add(socket)));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    const database = await openPostgres(`postgres://edgeloop@127.0.0.1:${port}/edgeloop`, { migrate: false });
    cleanups.push(async () => {
      // The store's client retries: refuse its new connections too.
      closing = true;
      const closed = new Promise((resolve) => silent.close(resolve));
      for (const socket of sockets) socket.destroy();
      await database.close();
      await closed;
    });
    const readiness = createReadiness({ db: database.db, store: storeAt(`http://127.0.0.1:${port}`), log: createLogger('silent') }, { timeoutMs: 300 });
    const late = 'no answer within 300 ms';
    expect(await readiness.check()).toEqual({ status: 503, body: { ready: false, checks: { database: late, objectStore: late, migrations: late } } });
  });

  it('say "unreachable" in plain words, never the error of the driver', async () => {
    const port = await freePort(); // nothing listens there
    const database = await openPostgres(`postgres://edgeloop:secret@127.0.0.1:${port}/edgeloop`, { migrate: false });
    cleanups.push(() => database.close());
    const readiness = createReadiness({ db: database.db, store: storeAt(`http://127.0.0.1:${port}`), log: createLogger('silent') });
    const { status, body } = await readiness.check();
    expect({ status, body }).toEqual({
      status: 503,
      body: { ready: false, checks: { database: 'unreachable', objectStore: 'unreachable', migrations: 'could not be read from the database' } },
    });
  });
});
