/**
 * What the hub does on its own: at start, rebuild every channel's pointer file from the database (a crash between a
 * move's commit and its pointer write heals) and expire abandoned uploads; then expire uploads every few minutes, and
 * review assignments nobody labeled within a week (kept as non-response for label-based accuracy).
 * Every pass is idempotent, so several hub processes sharing a database may all run it.
 */
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
    void pass('expiring uploads', () => expireUploads(deps), (n) => `removed ${n} abandoned upload(s)`);
    return pass('expiring review assignments', () => expireReviews(deps), (n) => `expired ${n} review assignment(s) nobody labeled within a week`);
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
