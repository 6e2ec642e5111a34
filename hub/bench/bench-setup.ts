/** What the hub's benchmarks share: the databases to measure on, and a fresh hub I/O setup per measurement. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { type DatabaseHandle, openPglite, openPostgres } from '../src/db/database';
import type { HubDeps } from '../src/deps';
import { openJobQueue } from '../src/jobs/job-queue';
import { createLogger } from '../src/logger';
import { monitorRequestsSettled } from '../src/monitoring/monitor-request';
import { openKeyRing } from '../src/registry/key-ring';
import { startEmbeddedS3 } from '../src/storage/embedded-s3';
import { createS3ObjectStore } from '../src/storage/object-store';
import { type PostgresCluster, postgresInstalled, startPostgresCluster } from '../test/postgres-cluster';

export interface Setup {
  deps: HubDeps;
  close(): Promise<void>;
}

export interface BenchDatabase {
  label: string;
  open: () => Promise<DatabaseHandle>;
}

/** A fresh database from `openDb`, a fresh embedded S3 server and a job queue, as the hub would have them. */
export async function freshSetup(openDb: () => Promise<DatabaseHandle>): Promise<Setup> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-bench-'));
  const database = await openDb();
  const s3 = await startEmbeddedS3({ directory: path.join(tmp, 's3'), bucket: 'edgeloop' });
  const store = createS3ObjectStore({ endpoint: s3.endpoint, region: 'us-east-1', bucket: s3.bucket, credentials: s3.credentials, forcePathStyle: true });
  const queue = await openJobQueue(database.queueConnection);
  const log = createLogger('warn');
  const deps: HubDeps = { db: database.db, store, queue, now: () => new Date(), log, cdnBaseUrl: '/cdn', cacheDir: path.join(tmp, 'cache'), keys: openKeyRing({ dir: path.join(tmp, 'keys'), db: database.db, log }) };
  return {
    deps,
    async close() {
      await monitorRequestsSettled(deps);
      await queue.stop({ graceful: false, wait: true });
      await s3.close();
      await database.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/**
 * PGlite always; PostgreSQL 15 (a throwaway cluster, a new database per open) where it is installed. `stop` ends
 * the cluster.
 */
export async function benchDatabases(): Promise<{ databases: BenchDatabase[]; stop(): void }> {
  const cluster: PostgresCluster | null = postgresInstalled() ? await startPostgresCluster() : null;
  const databases: BenchDatabase[] = [{ label: 'PGlite (embedded)', open: () => openPglite(fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-bench-db-'))) }];
  if (cluster) {
    let n = 0;
    databases.push({
      label: 'PostgreSQL 15',
      async open() {
        const name = `bench_${process.pid}_${n++}`;
        const admin = postgres(cluster.url, { max: 1, onnotice: () => {} });
        await admin.unsafe(`create database ${name}`);
        await admin.end();
        return openPostgres(cluster.url.replace(/\/postgres$/, `/${name}`));
      },
    });
  } else console.log('PostgreSQL 15 is not installed (apt-get install postgresql): measuring PGlite only\n');
  return { databases, stop: () => cluster?.stop() };
}

/** Prints a markdown table. */
export function printTable(header: string[], rows: string[][]): void {
  console.log(`\n| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
}

export function machineLine(): string {
  return `machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`;
}
