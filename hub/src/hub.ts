import path from 'node:path';
import { type DatabaseHandle, openDatabase } from './db/database';
import { openJobQueue } from './jobs/job-queue';
import type { HubDeps } from './deps';
import type { HubEnv } from './env';
import { type Logger, createLogger } from './logger';
import { openKeyRing } from './registry/key-ring';
import { type EmbeddedS3, startEmbeddedS3 } from './storage/embedded-s3';
import { type ObjectStore, createS3ObjectStore } from './storage/object-store';
import { restrictUmask, tightenPrivateTree } from './storage/private-dir';

export interface Hub {
  deps: HubDeps;
  database: DatabaseHandle;
  /** Set when the hub runs its own S3 server (no S3_ENDPOINT configured). */
  embeddedS3: EmbeddedS3 | null;
  close(): Promise<void>;
}

/**
 * Opens the hub's I/O: the database (PGlite in the data directory, or DATABASE_URL) and the object
 * store (an S3 server in-process, or S3_ENDPOINT). Everything else receives these as HubDeps.
 * The data directory holds the database, objects, tokens and keys: it is made owner-only before anything is written.
 */
export async function openHub(env: HubEnv, log: Logger = createLogger(env.LOG_LEVEL)): Promise<Hub> {
  restrictUmask();
  tightenPrivateTree(env.dataDir, log);
  const database = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.dataDir });
  let embeddedS3: EmbeddedS3 | null = null;
  try {
    let store: ObjectStore;
    if (env.S3_ENDPOINT) {
      store = createS3ObjectStore({
        endpoint: env.S3_ENDPOINT,
        region: env.S3_REGION,
        bucket: env.S3_BUCKET,
        credentials: { accessKeyId: env.S3_ACCESS_KEY_ID!, secretAccessKey: env.S3_SECRET_ACCESS_KEY! },
        forcePathStyle: env.S3_FORCE_PATH_STYLE,
      });
    } else {
      embeddedS3 = await startEmbeddedS3({ directory: path.join(env.dataDir, 's3'), bucket: env.S3_BUCKET, port: env.EMBEDDED_S3_PORT });
      store = createS3ObjectStore({
        endpoint: embeddedS3.endpoint,
        region: env.S3_REGION,
        bucket: embeddedS3.bucket,
        credentials: embeddedS3.credentials,
        forcePathStyle: true,
      });
    }
    log.info(
      `database: ${database.kind === 'pglite' ? `embedded PGlite in ${env.dataDir}` : 'PostgreSQL (DATABASE_URL)'}; ` +
        `object store: ${embeddedS3 ? `embedded S3 at ${embeddedS3.endpoint}` : env.S3_ENDPOINT}`,
    );
    const queue = await openJobQueue(database.queueConnection);
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
    };
    return {
      deps,
      database,
      embeddedS3,
      async close() {
        await queue.stop({ graceful: false, wait: true });
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
