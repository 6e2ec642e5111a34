import type http from 'node:http';
import path from 'node:path';
import { type DatabaseHandle, openDatabase } from './db/database';
import { ADMIN_TOKEN_FILE } from './auth/sign-in-hint';
import { HubError } from './errors';
import { QUEUE_SCHEMA, jobQueueSchemaStatus, openJobQueue } from './jobs/job-queue';
import type { HubDeps } from './deps';
import type { HubEnv } from './env';
import { type Logger, createLogger } from './logger';
import { monitorRequestsSettled } from './monitoring/monitor-request';
import { openKeyRing } from './registry/key-ring';
import { type EmbeddedS3, startEmbeddedS3 } from './storage/embedded-s3';
import { type ObjectStore, createS3ObjectStore } from './storage/object-store';
import { restrictUmask, tightenPrivateTree } from './storage/private-dir';

/** The path under the hub's origin where the embedded store's presigned URLs point. */
export const S3_ROUTE = '/s3';

export interface Hub {
  deps: HubDeps;
  database: DatabaseHandle;
  /** Set when the hub runs its own S3 server (no S3_ENDPOINT configured). */
  embeddedS3: EmbeddedS3 | null;
  /**
   * The embedded store's API under the hub's own `/s3/` path, where its presigned URLs point (clients never see
   * the loopback port); null with an external S3, whose presigned URLs are its own.
   */
  s3Route: ((req: http.IncomingMessage, res: http.ServerResponse) => void) | null;
  /** The origin clients reach the hub at, once it listens, when HUB_PUBLIC_URL does not say it. */
  setPublicOrigin(origin: string): void;
  /**
   * Closes the queue, object store and database pools. With `jobGraceMs`, job steps running in this process get that
   * long to finish; those still running then fail, so the queue retries them elsewhere. Without, they fail at once.
   */
  close(options?: { jobGraceMs?: number }): Promise<void>;
}

/**
 * Opens the hub's I/O: the database (PGlite in the data directory, or DATABASE_URL) and the object
 * store (an S3 server in-process, or S3_ENDPOINT). Everything else receives these as HubDeps.
 * The data directory holds the database, objects, tokens and keys: it is made owner-only before anything is written.
 */
export async function openHub(env: HubEnv, log: Logger = createLogger(env.LOG_LEVEL, { format: env.LOG_FORMAT })): Promise<Hub> {
  restrictUmask();
  tightenPrivateTree(env.dataDir, log);
  const database = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.dataDir, migrate: env.MIGRATE_ON_START });
  let embeddedS3: EmbeddedS3 | null = null;
  // Until the hub listens (and knows its port when HUB_PORT is 0), the configured address.
  let publicOrigin = new URL(env.HUB_PUBLIC_URL ?? `http://${env.HUB_HOST.includes(':') ? `[${env.HUB_HOST}]` : env.HUB_HOST}:${env.HUB_PORT}`).origin;
  try {
    let store: ObjectStore;
    if (env.S3_ENDPOINT) {
      store = createS3ObjectStore({
        endpoint: env.S3_ENDPOINT,
        region: env.S3_REGION,
        bucket: env.S3_BUCKET,
        credentials: { accessKeyId: env.S3_ACCESS_KEY_ID!, secretAccessKey: env.S3_SECRET_ACCESS_KEY! },
        forcePathStyle: env.S3_FORCE_PATH_STYLE,
        // Clients get URLs for the address they reach (signed for its host); the hub's own calls stay internal.
        ...(env.S3_PUBLIC_ENDPOINT ? { presignEndpoint: () => env.S3_PUBLIC_ENDPOINT!, presignPathStyle: env.S3_FORCE_PATH_STYLE } : {}),
      });
    } else {
      embeddedS3 = await startEmbeddedS3({ directory: path.join(env.dataDir, 's3'), bucket: env.S3_BUCKET, port: env.EMBEDDED_S3_PORT, region: env.S3_REGION });
      store = createS3ObjectStore({
        endpoint: embeddedS3.endpoint,
        region: env.S3_REGION,
        bucket: embeddedS3.bucket,
        credentials: embeddedS3.credentials,
        forcePathStyle: true,
        presignEndpoint: () => `${publicOrigin}${S3_ROUTE}`,
      });
    }
    log.info(
      `database: ${database.kind === 'pglite' ? `embedded PGlite in ${env.dataDir}` : 'PostgreSQL (DATABASE_URL)'}; ` +
        `object store: ${embeddedS3 ? `embedded S3 at ${embeddedS3.endpoint}` : env.S3_ENDPOINT}${env.S3_PUBLIC_ENDPOINT ? ` (clients: ${env.S3_PUBLIC_ENDPOINT})` : ''}`,
    );
    if (!env.MIGRATE_ON_START) {
      // Not migrating at start: pg-boss runs only on its schema as `edgeloop migrate` (of this release) left it.
      const queueSchema = await jobQueueSchemaStatus(database.db);
      if (queueSchema !== 'current') {
        const state = {
          missing: "not installed: run this release's `edgeloop migrate` first",
          behind: "older than this build's: run this release's `edgeloop migrate` first",
          ahead: "newer than this build's (a newer release migrated it): run that release",
        }[queueSchema];
        throw new HubError('CONFLICT', `the job queue's schema (${QUEUE_SCHEMA}) is ${state} (MIGRATE_ON_START is false)`);
      }
    }
    const queue = await openJobQueue(database.queueConnection, { migrate: env.MIGRATE_ON_START });
    const deps: HubDeps = {
      db: database.db,
      store,
      queue,
      now: () => new Date(),
      log,
      cdnBaseUrl: env.CDN_BASE_URL ?? '/cdn',
      cacheDir: path.join(env.dataDir, 'cache'),
      // Made or migrated on first use (the server does it at start), so workers that never sign touch no keys.
      keys: openKeyRing({ dir: env.keysDir, db: database.db, log }),
      adminTokenFile: path.join(env.dataDir, ADMIN_TOKEN_FILE),
    };
    const embedded = embeddedS3;
    return {
      deps,
      database,
      embeddedS3,
      s3Route: embedded ? (req, res) => embedded.handle(req, res, { basePath: S3_ROUTE, host: new URL(publicOrigin).host }) : null,
      setPublicOrigin(origin) {
        if (!env.HUB_PUBLIC_URL) publicOrigin = new URL(origin).origin;
      },
      async close({ jobGraceMs = 0 } = {}) {
        // Monitor updates asked for by the last sync calls still reach the queue.
        await monitorRequestsSettled(deps);
        await queue.stop({ graceful: jobGraceMs > 0, timeout: jobGraceMs, wait: true });
        await embeddedS3?.close();
        await database.close();
      },
    };
  } catch (error) {
    await embeddedS3?.close();
    await database.close();
    throw error;
  }
}
