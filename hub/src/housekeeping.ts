/**
 * What the hub does on its own: at start, rebuild every channel's pointer file from the database (a crash between a
 * move's commit and its pointer write heals) and expire abandoned uploads; then expire uploads every few minutes, and
 * review assignments nobody labeled within a week (kept as non-response for label-based accuracy).
 * Every pass is idempotent, so several hub processes sharing a database may all run it; the periodic ones run one
 * at a time across them (an advisory try-lock: a process whose timer fires while another's pass runs skips its own).
 *
 * Why a try-lock and not a pg-boss cron schedule: what must not happen is two passes acting on the same rows at once
 * (both deleting one upload's object and row, each counting it); passes one after another are harmless, as the later
 * finds nothing and costs a query. The lock gives that with the local timer as it is, runs the same on PGlite, and
 * keeps the pass at start and the tests' short interval; a schedule would add a queue, a schedule row and a worker
 * in every hub, and cannot go below a minute.
 */
import { unlessBusy } from './db/advisory-lock';
import type { HubDeps } from './deps';
import { expireUploads } from './datasets/upload.service';
import { expireReviews } from './feedback/review-assignment.service';
import { rebuildChannelPointers } from './registry/channel.service';

export interface Housekeeping {
  /** Settles when the start pass has run (failures are logged, not thrown). */
  started: Promise<void>;
  stop(): Promise<void>;
}

export function startHousekeeping(deps: HubDeps, options: { intervalMs?: number } = {}): Housekeeping {
  let running: Promise<void> = Promise.resolve();
  const pass = (name: string, work: () => Promise<number>, done: (n: number) => string) => {
    running = running.then(async () => {
      try {
        const n = await work();
        if (n > 0) deps.log.info(done(n));
      } catch (error) {
        deps.log.error(`${name}: ${(error as Error).message}`);
      }
    });
    return running;
  };
  const expire = () => {
    void pass('expiring uploads', async () => (await expireUploadsPass(deps)) ?? 0, (n) => `removed ${n} abandoned upload(s)`);
    return pass('expiring review assignments', async () => (await expireReviewsPass(deps)) ?? 0, (n) => `expired ${n} review assignment(s) nobody labeled within a week`);
  };
  pass('rebuilding channel pointers', () => rebuildChannelPointers(deps), (n) => `rewrote ${n} channel pointer file(s) from the database`);
  const started = expire();
  const timer = setInterval(() => void expire(), options.intervalMs ?? 5 * 60 * 1000);
  timer.unref();
  return {
    started,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

/** The locks of the periodic passes: one pass of each at a time across the processes on the database. */
export const EXPIRE_UPLOADS_LOCK = 'housekeeping:expire-uploads';
export const EXPIRE_REVIEWS_LOCK = 'housekeeping:expire-reviews';

/** One process's pass: expireUploads, or null (skipped) while another process's pass is running. */
export function expireUploadsPass(deps: HubDeps): Promise<number | null> {
  return unlessBusy(deps.db, EXPIRE_UPLOADS_LOCK, () => expireUploads(deps));
}

/** One process's pass: expireReviews, or null (skipped) while another process's pass is running. */
export function expireReviewsPass(deps: HubDeps): Promise<number | null> {
  return unlessBusy(deps.db, EXPIRE_REVIEWS_LOCK, () => expireReviews(deps));
}
