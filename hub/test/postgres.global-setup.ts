import type { TestProject } from 'vitest/node';
import { PG_BIN, postgresInstalled, startPostgresCluster } from './postgres-cluster';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the PostgreSQL 15 cluster started for this run, or null where none is installed. */
    postgresUrl: string | null;
  }
}

/**
 * Starts a throwaway PostgreSQL 15 cluster for the integration suites (each test file makes its own
 * database in it). In CI a missing PostgreSQL is an error; on a developer machine without it the
 * PostgreSQL variants are skipped and say why.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (!postgresInstalled()) {
    if (project.config.env.CI === 'true' || process.env.CI === 'true') {
      throw new Error(`PostgreSQL 15 is required in CI but ${PG_BIN}/initdb is missing (apt-get install postgresql)`);
    }
    project.provide('postgresUrl', null);
    return async () => {};
  }
  const cluster = await startPostgresCluster();
  project.provide('postgresUrl', cluster.url);
  return async () => cluster.stop();
}
