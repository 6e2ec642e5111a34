/**
 * The owner of `dataset_activities`: long dataset work (imports, commits) and how far it got, as every process sharing
 * the database sees it. `updatedAt` is the work's heartbeat (each write sets it).
 */
import { and, asc, eq, gte, isNull, lt, or } from 'drizzle-orm';
import type { Database } from '../db/database';
import { datasetActivities } from '../db/schema';

export type ActivityKind = 'import' | 'commit';

export interface ActivityRow {
  id: number;
  kind: ActivityKind;
  /** What it is doing, in words: "importing images", "writing the manifest". */
  step: string;
  /** Units done and in all (images); total null when the work cannot say (a commit's steps). */
  done: number;
  total: number | null;
  startedAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
  /** Why it failed, in words for people; null while running or when it succeeded. */
  failed: string | null;
}

/** What a write sets: where the work stands, when (the heartbeat), and its end when it ended. */
export interface ActivityState {
  step: string;
  done: number;
  total: number | null;
  updatedAt: Date;
  finishedAt?: Date;
  failed?: string;
}

/** When the work last said something: its end, or (while running) its last write. Spelled out, as SQL's nulls are three-valued. */
const lastWordBefore = (at: Date) => or(lt(datasetActivities.finishedAt, at), and(isNull(datasetActivities.finishedAt), lt(datasetActivities.updatedAt, at)));
const lastWordSince = (at: Date) => or(gte(datasetActivities.finishedAt, at), and(isNull(datasetActivities.finishedAt), gte(datasetActivities.updatedAt, at)));

export async function create(db: Database, activity: { projectId: string; kind: ActivityKind; step: string; total: number | null; at: Date }): Promise<number> {
  const [row] = await db
    .insert(datasetActivities)
    .values({ projectId: activity.projectId, kind: activity.kind, step: activity.step, total: activity.total, startedAt: activity.at, updatedAt: activity.at })
    .returning({ id: datasetActivities.id });
  return row!.id;
}

/** Records where the work stands; an ended activity is not changed any more (a late progress write cannot revive it). */
export async function save(db: Database, id: number, state: ActivityState): Promise<void> {
  await db
    .update(datasetActivities)
    .set({ step: state.step, done: state.done, total: state.total, updatedAt: state.updatedAt, finishedAt: state.finishedAt ?? null, failed: state.failed ?? null })
    .where(and(eq(datasetActivities.id, id), isNull(datasetActivities.finishedAt)));
}

/** The project's activities that said something at or after `since`, oldest first. */
export async function recent(db: Database, projectId: string, since: Date): Promise<ActivityRow[]> {
  const rows = await db
    .select()
    .from(datasetActivities)
    .where(and(eq(datasetActivities.projectId, projectId), lastWordSince(since)))
    .orderBy(asc(datasetActivities.id));
  // Written only by create, which takes an ActivityKind.
  return rows.map(({ projectId: _, ...row }) => ({ ...row, kind: row.kind as ActivityKind }));
}

/** Forgets the project's activities that said nothing since `before`: listed no more. */
export async function forgetBefore(db: Database, projectId: string, before: Date): Promise<void> {
  await db.delete(datasetActivities).where(and(eq(datasetActivities.projectId, projectId), lastWordBefore(before)));
}
