/**
 * Long dataset work of this hub process (imports, commits), per project, so the admin can show its progress and a
 * person can leave the page and come back (or reload) to find it still going or finished. Kept in memory: it is
 * about work running now in this process (the demo import at start, a commit from the admin); an import run by the
 * CLI in its own process shows its own progress bar there instead. Finished work is kept for a while, then forgotten.
 */
import { HubError } from '../errors';

export type ActivityKind = 'import' | 'commit';

export interface Activity {
  id: number;
  kind: ActivityKind;
  /** What it is doing, in words: "importing images", "writing the manifest". */
  step: string;
  /** Units done and in all (images); total null when the work cannot say (a commit's steps). */
  done: number;
  total: number | null;
  startedAt: Date;
  finishedAt: Date | null;
  /** Why it failed, in words for people; null while running or when it succeeded. */
  failed: string | null;
}

/** How long finished work stays listed. */
const KEEP_FINISHED_MS = 10 * 60 * 1000;
const byProject = new Map<string, Activity[]>();
let nextId = 1;

/** Records the start of long work on a project; the handle updates it and says when it ends. */
export function startActivity(project: string, kind: ActivityKind, step: string, total: number | null = null, now = new Date()) {
  const activity: Activity = { id: nextId++, kind, step, done: 0, total, startedAt: now, finishedAt: null, failed: null };
  const list = byProject.get(project) ?? [];
  byProject.set(project, [...list.filter((a) => !a.finishedAt || now.getTime() - a.finishedAt.getTime() < KEEP_FINISHED_MS), activity]);
  return {
    progress(done: number, total: number | null = activity.total, step = activity.step) {
      Object.assign(activity, { done, total, step });
    },
    finish(at = new Date()) {
      activity.finishedAt = at;
      if (activity.total !== null) activity.done = activity.total;
    },
    fail(reason: string, at = new Date()) {
      activity.finishedAt = at;
      activity.failed = reason;
    },
  };
}

/** Runs `work` as an activity (of `total` units, when it can say): finished when it resolves, failed (with `failure` as the words) when it throws. */
export async function tracked<T>(
  project: string,
  kind: ActivityKind,
  step: string,
  work: (handle: ReturnType<typeof startActivity>) => Promise<T>,
  failure: string,
  total: number | null = null,
): Promise<T> {
  const handle = startActivity(project, kind, step, total);
  try {
    const result = await work(handle);
    handle.finish();
    return result;
  } catch (error) {
    handle.fail(failureWords(error, failure));
    throw error;
  }
}

/** The project's running work and the work that finished in the last minutes, oldest first. */
export function activitiesOf(project: string, now = new Date()): Activity[] {
  return (byProject.get(project) ?? []).filter((a) => !a.finishedAt || now.getTime() - a.finishedAt.getTime() < KEEP_FINISHED_MS);
}

/** A refusal the caller can fix says why in its own words; anything else is the generic `failure` (details stay in the log). */
const failureWords = (error: unknown, failure: string): string => (error instanceof HubError ? error.message : failure);
