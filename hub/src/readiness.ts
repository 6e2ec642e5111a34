/**
 * `/readyz`: whether this hub should get traffic. Ready when the database answers, the object store answers and the
 * database's schema has every migration this build ships (pg-boss's schema counted as one); not ready, at once, when shutdown begins. (`/healthz` only
 * says the process is up.) Each check is bounded, so a hung database makes readyz answer 503 rather than hang.
 *
 * 200 {"ready":true,"checks":{"database":"ok","objectStore":"ok","migrations":"ok"}}
 * 503 {"ready":false,"checks":{...each failing one in plain words...}}  or  503 {"ready":false,"reason":"shutting down"}
 */
import type http from 'node:http';
import { sql } from 'drizzle-orm';
import { migrationStatus } from './db/migration-status';
import type { HubDeps } from './deps';
import { jobQueueSchemaStatus } from './jobs/job-queue';

export const READINESS_PATH = '/readyz';

/** A key nothing writes: reading it costs the store one lookup and answers null. */
const ABSENT_KEY = 'readyz/absent';

/** Each check's default bound; probes come every few seconds. */
export const READINESS_TIMEOUT_MS = 2000;

export type CheckName = 'database' | 'objectStore' | 'migrations';
export type ReadinessBody = { ready: boolean; checks: Record<CheckName, string> } | { ready: false; reason: 'shutting down' };

export interface Readiness {
  /** The answer /readyz gives now: its status and body. */
  check(): Promise<{ status: 200 | 503; body: ReadinessBody }>;
  /** From now on every answer is 503 "shutting down". */
  shutDown(): void;
  serve(res: http.ServerResponse): void;
}

/** Outcome of one check: 'ok', or what is wrong in words a person can act on (never an internal error's text). */
type Outcome = string;

export function createReadiness(deps: Pick<HubDeps, 'db' | 'store' | 'log'>, options: { timeoutMs?: number } = {}): Readiness {
  const timeoutMs = options.timeoutMs ?? READINESS_TIMEOUT_MS;
  let shuttingDown = false;
  // What each check said last, so a failing probe logs its cause once, not every few seconds.
  const last = new Map<CheckName, Outcome>();

  const bounded = async (name: CheckName, work: () => Promise<Outcome>, unreachable: string): Promise<Outcome> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Outcome>((resolve) => {
      timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
    });
    const outcome = await Promise.race([
      work().catch((error: Error) => {
        if (last.get(name) === 'ok' || !last.has(name)) deps.log.warn(`readiness: ${name} check failed: ${error.message}`);
        return unreachable;
      }),
      timeout,
    ]).finally(() => clearTimeout(timer));
    if (outcome !== last.get(name) && outcome !== 'ok') deps.log.warn(`readiness: ${name}: ${outcome}`);
    last.set(name, outcome);
    return outcome;
  };

  const database = () =>
    bounded(
      'database',
      async () => {
        await deps.db.execute(sql`select 1`);
        return 'ok';
      },
      'unreachable',
    );
  const objectStore = () =>
    bounded(
      'objectStore',
      async () => {
        await deps.store.get(ABSENT_KEY);
        return 'ok';
      },
      'unreachable',
    );
  const migrations = () =>
    bounded(
      'migrations',
      async () => {
        const { pending } = await migrationStatus(deps.db);
        // pg-boss's own schema, missing or older than this build's, is one more migration `edgeloop migrate` applies.
        const queue = await jobQueueSchemaStatus(deps.db);
        const count = pending.length + (queue === 'missing' || queue === 'behind' ? 1 : 0);
        // A schema newer than this build is fine: releases stay compatible with the one before (expand, then contract).
        return count === 0 ? 'ok' : `${count} pending: run \`edgeloop migrate\``;
      },
      'could not be read from the database',
    );

  const check: Readiness['check'] = async () => {
    if (shuttingDown) return { status: 503, body: { ready: false, reason: 'shutting down' } };
    const [db, store, schema] = await Promise.all([database(), objectStore(), migrations()]);
    const checks = { database: db, objectStore: store, migrations: schema };
    const ready = Object.values(checks).every((outcome) => outcome === 'ok');
    // Shutdown may have begun while the checks ran.
    if (shuttingDown) return { status: 503, body: { ready: false, reason: 'shutting down' } };
    return { status: ready ? 200 : 503, body: { ready, checks } };
  };

  return {
    check,
    shutDown() {
      shuttingDown = true;
    },
    serve(res) {
      void check().then(({ status, body }) => {
        res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
      });
    },
  };
}
