/**
 * The job queue: pg-boss in the hub's own database, so workers on other machines sharing the database take jobs
 * from it, and each job runs once (pg-boss fetches with SKIP LOCKED).
 */
import { createRequire } from 'node:module';
import PgBoss from 'pg-boss';
import { sql } from 'drizzle-orm';
import type { Database, QueueConnection } from '../db/database';
import { rowsOf } from '../db/raw-rows';
import { jobDuration } from '../metrics';

export type JobQueue = PgBoss;

export const QUEUES = {
  train: 'train',
  monitorProfile: 'monitor.profile',
  /** Brings one monitor stream up to date (monitoring/monitor.job.ts); sent debounced per stream. */
  monitorUpdate: 'monitor.update',
  /** Posts one alert's opening or resolution to its project's webhook (monitoring/webhook.service.ts); retried with backoff. */
  monitorWebhook: 'monitor.webhook',
  /** Compares every running canary with production and promotes or aborts it (registry/rollout-check.job.ts); every minute. */
  rolloutCheck: 'rollout.check',
  /** Runs one step of a pipeline run (pipelines/pipeline-step.job.ts); each job is named by the step row it may take. */
  pipelineStep: 'pipeline.step',
  /** Every minute (a pg-boss schedule): the alert, reviews and schedule triggers of every project (pipelines/pipeline-trigger.service.ts). */
  pipelineTriggers: 'pipeline.triggers',
} as const;

/** The queue a project's pipeline schedule (a pg-boss cron schedule, one per queue) sends to; made when the settings are saved. */
export const pipelineScheduleQueue = (projectId: string) => `pipeline.schedule.${projectId}`;

/**
 * Queues whose jobs carry a singletonKey that must mean something: `stately` keeps at most one queued and one active
 * job per key (a version's profile is computed once however often it is asked for). Others are `standard`.
 */
const POLICIES: Partial<Record<string, PgBoss.QueuePolicy>> = { [QUEUES.monitorProfile]: 'stately' };

/** The PostgreSQL schema pg-boss keeps its tables in. */
export const QUEUE_SCHEMA = 'pgboss';
/** The version of pg-boss's schema this build's pg-boss runs on (it refuses any other without migrating). */
export const QUEUE_SCHEMA_VERSION: number = (createRequire(import.meta.url)('pg-boss/version.json') as { schema: number }).schema;

/**
 * Opens the queue. With `migrate` (the default, MIGRATE_ON_START) pg-boss installs or upgrades its schema first; without,
 * the schema must already be this build's (`edgeloop migrate` installs it: migrateJobQueue) or pg-boss refuses to start.
 */
export async function openJobQueue(connection: QueueConnection, options: { migrate?: boolean } = {}): Promise<JobQueue> {
  const boss = new PgBoss({ ...connection, schema: QUEUE_SCHEMA, supervise: true, migrate: options.migrate ?? true });
  boss.on('error', (error: Error) => process.stderr.write(`job queue: ${error.message}\n`));
  timeJobs(boss);
  await boss.start();
  for (const name of Object.values(QUEUES)) {
    if (!(await boss.getQueue(name))) await boss.createQueue(name, { name, policy: POLICIES[name] ?? 'standard' });
  }
  return boss;
}

/**
 * Installs or upgrades pg-boss's schema and nothing else (no maintenance, no schedules): `edgeloop migrate`'s second
 * step. pg-boss serialises its own migrations, so two runs at once are safe.
 */
export async function migrateJobQueue(connection: QueueConnection): Promise<void> {
  const boss = new PgBoss({ ...connection, schema: QUEUE_SCHEMA, migrate: true, supervise: false, schedule: false });
  boss.on('error', (error: Error) => process.stderr.write(`job queue: ${error.message}\n`));
  await boss.start();
  await boss.stop({ graceful: false, wait: true });
}

/**
 * Where pg-boss's schema stands against this build's: 'missing' (never installed), 'behind' (an older pg-boss's:
 * `edgeloop migrate` upgrades it), 'current', or 'ahead' (a newer release's). One cheap query.
 */
export async function jobQueueSchemaStatus(db: Database): Promise<'missing' | 'behind' | 'current' | 'ahead'> {
  const [table] = await rowsOf<{ present: boolean }>(db, sql`select to_regclass(${`${QUEUE_SCHEMA}.version`}) is not null as present`);
  if (!table?.present) return 'missing';
  const [row] = await rowsOf<{ version: number | string | null }>(db, sql.raw(`select version from ${QUEUE_SCHEMA}.version`));
  const version = row?.version === null || row?.version === undefined ? null : Number(row.version);
  if (version === null) return 'missing';
  return version < QUEUE_SCHEMA_VERSION ? 'behind' : version > QUEUE_SCHEMA_VERSION ? 'ahead' : 'current';
}

/** A queue's metric label: its name when it is one of QUEUES, else its family (pipeline.schedule.<project id> -> pipeline.schedule). */
export function queueLabel(name: string): string {
  if ((Object.values(QUEUES) as string[]).includes(name)) return name;
  return name.startsWith('pipeline.schedule.') ? 'pipeline.schedule' : 'other';
}

/** pg-boss 10's job states. */
export const JOB_STATES = ['created', 'retry', 'active', 'completed', 'cancelled', 'failed'] as const;

/** Jobs per queue and state, as stored (every process on the database sees the same). */
export async function jobCounts(db: Database): Promise<{ queue: string; state: string; jobs: number }[]> {
  const rows = await rowsOf<{ name: string; state: string; jobs: number | string }>(db, sql`select name, state::text as state, count(*) as jobs from pgboss.job group by name, state`);
  return rows.map((row) => ({ queue: row.name, state: row.state, jobs: Number(row.jobs) }));
}

/** Every handler given to `work` reports its duration (edgeloop_job_duration_seconds), whichever worker runs it. */
function timeJobs(boss: PgBoss): void {
  const work = boss.work.bind(boss) as (name: string, ...rest: unknown[]) => Promise<string>;
  boss.work = ((name: string, ...rest: unknown[]) => {
    const handler = rest.pop() as (jobs: unknown) => Promise<unknown>;
    const queue = queueLabel(name);
    return work(name, ...rest, async (jobs: unknown) => {
      const end = jobDuration.startTimer({ queue });
      try {
        const result = await handler(jobs);
        end({ outcome: 'ok' });
        return result;
      } catch (error) {
        end({ outcome: 'failed' });
        throw error;
      }
    });
  }) as typeof boss.work;
}
