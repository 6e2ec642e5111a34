/** `edgeloop migrate`: applies the database migrations as a step of its own (a deploy job), never racing between replicas. */
import type { Command } from 'commander';
import { openDatabase } from '../db/database';
import { type ShippedMigration, migrationStatus } from '../db/migration-status';
import { type HubEnv, loadEnv } from '../env';

export interface MigrateResult {
  /** What this run found pending and applied, oldest first. */
  applied: ShippedMigration[];
  /** Migrations the database has that are newer than this build (a newer release ran): left as they are. */
  ahead: number;
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
    // Another process may have applied some of them between the two reads (it held the lock first).
    return { applied: before.pending.filter((m) => !after.pending.some((p) => p.tag === m.tag)), ahead: after.ahead };
  } finally {
    await database.close();
  }
}

export function addMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations (run it before starting hubs and workers with MIGRATE_ON_START=false)')
    .action(async () => {
      const { applied, ahead } = await migrateDatabase(loadEnv());
      if (applied.length === 0) console.log('the database schema is current: nothing to apply');
      else {
        for (const m of applied) console.log(`applied ${m.tag}`);
        console.log(`applied ${applied.length} migration(s); the database schema is current`);
      }
      if (ahead > 0) console.log(`the database has ${ahead} migration(s) newer than this build (a newer release ran them): left as they are`);
    });
}
