/**
 * Long dataset work (imports, commits), per project, so the admin can show its progress and a person can leave the
 * page and come back (or reload) to find it still going or finished. Stored in the database, so every hub replica
 * lists the same work, whichever process (a hub, the CLI's import) does it. Progress is written at most every
 * WRITE_EVERY_MS per activity (a burst of progress calls is one write) plus the final state; running work also writes
 * a heartbeat, so work whose process died (SIGKILL, a lost machine) is listed as failed once it has been silent for
 * STALE_AFTER_MS instead of running forever. Finished work stays listed KEEP_FINISHED_MS, then is forgotten.
 */
import type { HubDeps } from '../deps';
import { HubError } from '../errors';
import type { Project } from '../projects/project.repository';
import { type ActivityKind, type ActivityRow, create, forgetBefore, recent, save } from './dataset-activity.repository';

export type { ActivityKind };

/** Long work as the admin lists it: the stored row without its heartbeat. */
export type Activity = Omit<ActivityRow, 'updatedAt'>;

/** The I/O an activity uses. */
export type ActivityDeps = Pick<HubDeps, 'db' | 'now' | 'log'>;

/** How long finished work stays listed. */
export const KEEP_FINISHED_MS = 10 * 60 * 1000;
/** Progress is written at most this often per activity. */
export const WRITE_EVERY_MS = 500;
/** Running work writes at least this often (its heartbeat), also while a step reports no progress. */
export const HEARTBEAT_MS = 30 * 1000;
/** Running work silent this long lost its process: listed as failed. Several heartbeats, so a busy process is not taken for dead. */
export const STALE_AFTER_MS = 3 * 60 * 1000;
export const STALE_WORDS = `the process running it stopped before it finished (no word from it for ${STALE_AFTER_MS / 60_000} minutes); run it again`;

export interface ActivityHandle {
  readonly id: number;
  /** Records how far the work got; written soon (at most every WRITE_EVERY_MS), not at once. */
  progress(done: number, total?: number | null, step?: string): void;
  /** Records the end (done = total when a total is known); settles once written. */
  finish(): Promise<void>;
  /** Records the failure, in words for people; settles once written. */
  fail(reason: string): Promise<void>;
  /** How many times the activity's state was written after its start (the throttle, as its tests see it). */
  readonly writes: number;
}

/** Records the start of long work on a project; the handle updates it and says when it ends. */
export async function startActivity(
  deps: ActivityDeps,
  project: Pick<Project, 'id'>,
  kind: ActivityKind,
  step: string,
  total: number | null = null,
): Promise<ActivityHandle> {
  const at = deps.now();
  // Each start tidies its project: work that said nothing for KEEP_FINISHED_MS is listed no more.
  await forgetBefore(deps.db, project.id, new Date(at.getTime() - KEEP_FINISHED_MS));
  const id = await create(deps.db, { projectId: project.id, kind, step, total, at });
  const state = { step, done: 0, total };
  let writes = 0;
  let lastWriteAt = Date.now();
  let pending: NodeJS.Timeout | null = null;
  let ended = false;
  // Writes go out one after another, so the final state is the last one written.
  let written: Promise<void> = Promise.resolve();
  const write = (end: { finishedAt?: Date; failed?: string } = {}) => {
    writes++;
    lastWriteAt = Date.now();
    const snapshot = { ...state, updatedAt: deps.now(), ...end };
    written = written
      .then(() => save(deps.db, id, snapshot))
      .catch((error: Error) => deps.log.warn(`dataset activity ${id}: could not record its progress: ${error.message}`));
    return written;
  };
  const heartbeat = setInterval(() => void write(), HEARTBEAT_MS);
  heartbeat.unref();
  const end = (outcome: { failed?: string }) => {
    if (ended) return written;
    ended = true;
    clearInterval(heartbeat);
    if (pending) clearTimeout(pending);
    pending = null;
    return write({ finishedAt: deps.now(), ...outcome });
  };
  return {
    id,
    progress(done, newTotal = state.total, newStep = state.step) {
      if (ended) return;
      Object.assign(state, { done, total: newTotal, step: newStep });
      // One write for a burst: the first call schedules it, later calls before it goes out only change what it writes.
      if (pending) return;
      pending = setTimeout(
        () => {
          pending = null;
          if (!ended) void write();
        },
        Math.max(0, lastWriteAt + WRITE_EVERY_MS - Date.now()),
      );
      pending.unref();
    },
    finish() {
      if (state.total !== null) state.done = state.total;
      return end({});
    },
    fail(reason) {
      return end({ failed: reason });
    },
    get writes() {
      return writes;
    },
  };
}

/** Runs `work` as an activity (of `total` units, when it can say): finished when it resolves, failed (with `failure` as the words) when it throws. */
export async function tracked<T>(
  deps: ActivityDeps,
  project: Pick<Project, 'id'>,
  kind: ActivityKind,
  step: string,
  work: (handle: ActivityHandle) => Promise<T>,
  failure: string,
  total: number | null = null,
): Promise<T> {
  const handle = await startActivity(deps, project, kind, step, total);
  try {
    const result = await work(handle);
    await handle.finish();
    return result;
  } catch (error) {
    await handle.fail(failureWords(error, failure));
    throw error;
  }
}

/**
 * The project's running work and the work that ended in the last KEEP_FINISHED_MS, oldest first, as any process on the
 * database lists it. Running work silent for STALE_AFTER_MS is shown failed, ended when it last said something.
 */
export async function activitiesOf(deps: Pick<HubDeps, 'db' | 'now'>, project: Pick<Project, 'id'>): Promise<Activity[]> {
  const now = deps.now().getTime();
  const rows = await recent(deps.db, project.id, new Date(now - KEEP_FINISHED_MS));
  return rows.map((row) => toActivity(row, now));
}

function toActivity({ updatedAt, ...row }: ActivityRow, now: number): Activity {
  const lost = row.finishedAt === null && now - updatedAt.getTime() > STALE_AFTER_MS;
  return lost ? { ...row, finishedAt: updatedAt, failed: STALE_WORDS } : row;
}

/** A refusal the caller can fix says why in its own words; anything else is the generic `failure` (details stay in the log). */
const failureWords = (error: unknown, failure: string): string => (error instanceof HubError ? error.message : failure);
