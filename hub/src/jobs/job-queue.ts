/**
 * The job queue: pg-boss in the hub's own database, so workers on other machines sharing the database take jobs
 * from it, and each job runs once (pg-boss fetches with SKIP LOCKED).
 */
import PgBoss from 'pg-boss';
import type { QueueConnection } from '../db/database';

export type JobQueue = PgBoss;

export const QUEUES = {
  train: 'train',
  /** Brings one monitor stream up to date (monitoring/monitor.job.ts). */
  monitorUpdate: 'monitor.update',
} as const;

export async function openJobQueue(connection: QueueConnection): Promise<JobQueue> {
  const boss = new PgBoss({ ...connection, schema: 'pgboss', supervise: true, migrate: true });
  boss.on('error', (error: Error) => process.stderr.write(`job queue: ${error.message}\n`));
  await boss.start();
  for (const name of Object.values(QUEUES)) {
    if (!(await boss.getQueue(name))) await boss.createQueue(name, { name, policy: 'standard' });
  }
  return boss;
}
