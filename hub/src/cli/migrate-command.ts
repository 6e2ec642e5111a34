/**
 * `edgeloop migrate`: applies the database migrations as a step of its own (a deploy job), never racing between
 * replicas: the hub's own tables (drizzle) and the job queue's schema (pg-boss's), so hubs and workers started with
 * MIGRATE_ON_START=false change no schema.
 */
import type { Command } from 'commander';
import { openDatabase } from '../db/database';
import { type ShippedMigration, migrationStatus } from '../db/migration-status';
import { type HubEnv, loadEnv } from '../env';
import { QUEUE_SCHEMA, QUEUE_SCHEMA_VERSION, jobQueueSchemaStatus, migrateJobQueue } from '../jobs/job-queue';

export interface MigrateResult {
  /** What this run found pending and applied, oldest first. */
  applied: ShippedMigration[];
  /** Migrations the database has that are newer than this build (a newer release ran): left as they are. */
  ahead: number;
  /** What became of the job queue's schema: installed, upgraded to this build's version, or left as it was (current, or a newer release's). */
  jobQueue: 'installed' | 'upgraded' | 'current' | 'ahead';
}

/**
 * Applies the pending migrations of the configured database (on PostgreSQL under the advisory lock that the hub's
 * own start-up migration takes too), and says which it applied.
 */
export async function migrateDatabase(env: Pick<HubEnv, 'DATABASE_URL' | 'dataDir'>): Promise<MigrateResult> {
  const database = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.dataDir, migrate: false });
  try {
    const before = await migrationStatus(database.db);
    await database.migrate();
    const after = await migrationStatus(database.db);
    const queueBefore = await jobQueueSchemaStatus(database.db);
    if (queueBefore === 'missing' || queueBefore === 'behind') await migrateJobQueue(database.queueConnection);
    const jobQueue = queueBefore === 'missing' ? 'installed' : queueBefore === 'behind' ? 'upgraded' : queueBefore;
    // Another process may have applied some of them between the two reads (it held the lock first).
    return { applied: before.pending.filter((m) => !after.pending.some((p) => p.tag === m.tag)), ahead: after.ahead, jobQueue };
  } finally {
    await database.close();
  }
}

export function addMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description("apply pending database migrations and install or upgrade the job queue's schema (run it before starting hubs and workers with MIGRATE_ON_START=false)")
    .action(async () => {
      const { applied, ahead, jobQueue } = await migrateDatabase(loadEnv());
      if (applied.length === 0) console.log('the database schema is current: nothing to apply');
      else {
        for (const m of applied) console.log(`applied ${m.tag}`);
        console.log(`applied ${applied.length} migration(s); the database schema is current`);
      }
      if (ahead > 0) console.log(`the database has ${ahead} migration(s) newer than this build (a newer release ran them): left as they are`);
      const queueWords = {
        installed: `installed the job queue's schema (${QUEUE_SCHEMA}, version ${QUEUE_SCHEMA_VERSION})`,
        upgraded: `upgraded the job queue's schema (${QUEUE_SCHEMA}) to version ${QUEUE_SCHEMA_VERSION}`,
        current: `the job queue's schema (${QUEUE_SCHEMA}) is current`,
        ahead: `the job queue's schema (${QUEUE_SCHEMA}) is newer than this build's (a newer release installed it): left as it is`,
      };
      console.log(queueWords[jobQueue]);
    });
}
