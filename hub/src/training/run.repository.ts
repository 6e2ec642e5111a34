/**
 * The runs, run_epochs and run_logs tables: every query, and every change of a run's state, as a named operation.
 * A run goes queued -> running -> succeeded | failed | cancelled; a running one sends heartbeats, and one whose
 * worker went silent is requeued. The worker's writes name the attempt, so a worker presumed dead and replaced
 * cannot overwrite its successor's run. Rules (who may cancel, what a retry means) live in run.service.ts and the
 * training job.
 */
import {
  type Evaluations,
  type Lineage,
  type LoadingProgress,
  type RunProgress,
  type TrainingProgress,
  evaluationsSchema,
  lineageSchema,
  storedModelConfigSchema,
  storedRunProgressSchema,
  storedTrainConfigSchema,
} from '@edgeloop/shared';
import { and, asc, count, desc, eq, inArray, lt, sql } from 'drizzle-orm';
import type { Database } from '../db/database';
import { runEpochs, runLogs, runs } from '../db/schema';
import { parseStored } from '../db/stored-json';
import * as projects from '../projects/project.repository';

export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** A run as stored, its jsonb columns parsed with their contracts; the progress column read as its two phases. */
export type Run = Omit<typeof runs.$inferSelect, 'status' | 'progress'> & { status: RunStatus; progress: TrainingProgress | null; loading: LoadingProgress | null };
export type NewRun = Pick<typeof runs.$inferInsert, 'projectId' | 'datasetVersionId' | 'sweepId' | 'modelConfig' | 'trainConfig' | 'createdBy'>;
export type RunEpoch = Omit<typeof runEpochs.$inferSelect, 'runId'>;
export interface RunLogLine {
  at: Date;
  line: string;
}

function toRun(row: typeof runs.$inferSelect): Run {
  const where = (column: string) => `run ${row.id} ${column}`;
  return {
    ...row,
    status: row.status as RunStatus,
    // The stored readings: a field a row predates means what it meant then, not today's default.
    modelConfig: parseStored(storedModelConfigSchema, row.modelConfig, where('model_config')),
    trainConfig: parseStored(storedTrainConfigSchema, row.trainConfig, where('train_config')),
    lineage: row.lineage === null ? null : parseStored(lineageSchema, row.lineage, where('lineage')),
    evaluation: row.evaluation === null ? null : parseStored(evaluationsSchema, row.evaluation, where('evaluation')),
    ...progressOf(row.progress),
  };
}

/** Progress is display only: a row that does not match the contract (an old or hand-made one) reads as no progress, not an error. */
function progressOf(stored: unknown): { progress: TrainingProgress | null; loading: LoadingProgress | null } {
  const parsed = storedRunProgressSchema.safeParse(stored);
  return parsed.success ? { progress: parsed.data.training, loading: parsed.data.loading } : { progress: null, loading: null };
}

/** A new run, queued (the status column's default). */
export async function createQueued(db: Database, run: NewRun): Promise<Run> {
  const [row] = await db.insert(runs).values(run).returning();
  return toRun(row!);
}

/** Records the queue job that will run it. */
export async function setJob(db: Database, runId: string, jobId: string | null): Promise<Run> {
  const [row] = await db.update(runs).set({ jobId }).where(eq(runs.id, runId)).returning();
  return toRun(row!);
}

export async function find(db: Database, runId: string): Promise<Run | null> {
  const [row] = await db.select().from(runs).where(eq(runs.id, runId));
  return row ? toRun(row) : null;
}

/** The slug of the project a run belongs to, or null when there is no such run (any string is safe to pass). */
export const projectSlugOf = (db: Database, runId: string): Promise<string | null> => projects.slugOfRow(db, runs, runId);

export interface RunPageQuery {
  projectId: string;
  sweepId?: string;
  status?: RunStatus;
  limit: number;
  /** The last run of the page before (its id, a run of this project): the page starts after it, newest first. */
  afterRunId?: string;
}

/**
 * One page of a project's runs, newest first (ties by id), and whether more follow. Keyset paging on the
 * (project_id, created_at) index: a page costs the same however deep it is.
 */
export async function pageOfProject(db: Database, query: RunPageQuery): Promise<{ runs: Run[]; more: boolean }> {
  const rows = await db
    .select()
    .from(runs)
    .where(
      and(
        eq(runs.projectId, query.projectId),
        query.sweepId ? eq(runs.sweepId, query.sweepId) : undefined,
        query.status ? eq(runs.status, query.status) : undefined,
        // Compared with the stored timestamp itself (microseconds), not a JavaScript Date's milliseconds, so no run is skipped.
        query.afterRunId ? sql`(${runs.createdAt}, ${runs.id}) < (select r.created_at, r.id from runs r where r.id = ${query.afterRunId})` : undefined,
      ),
    )
    .orderBy(desc(runs.createdAt), desc(runs.id))
    .limit(query.limit + 1);
  return { runs: rows.slice(0, query.limit).map(toRun), more: rows.length > query.limit };
}

/** Whether the project has this run (a page cursor must be one of its runs). */
export async function isRunOf(db: Database, projectId: string, runId: string): Promise<boolean> {
  const [row] = await db.select({ id: runs.id }).from(runs).where(and(eq(runs.id, runId), eq(runs.projectId, projectId)));
  return row !== undefined;
}

/** How many runs of a project (of one sweep, if given) are in each status, counted in SQL. */
export async function statusCounts(db: Database, query: { projectId: string; sweepId?: string }): Promise<Record<RunStatus, number>> {
  const rows = await db
    .select({ status: runs.status, n: count() })
    .from(runs)
    .where(and(eq(runs.projectId, query.projectId), query.sweepId ? eq(runs.sweepId, query.sweepId) : undefined))
    .groupBy(runs.status);
  const counts = Object.fromEntries(RUN_STATUSES.map((s) => [s, 0])) as Record<RunStatus, number>;
  for (const row of rows) counts[row.status as RunStatus] = row.n;
  return counts;
}

/** The last recorded epoch of each of these runs, in one query (runs without an epoch are absent from the map). */
export async function lastEpochsOf(db: Database, runIds: readonly string[]): Promise<Map<string, RunEpoch>> {
  if (!runIds.length) return new Map();
  const rows = await db
    .selectDistinctOn([runEpochs.runId])
    .from(runEpochs)
    .where(inArray(runEpochs.runId, [...runIds]))
    .orderBy(runEpochs.runId, desc(runEpochs.epoch));
  return new Map(rows.map(({ runId, ...epoch }) => [runId, epoch]));
}

/** The epochs a run has recorded, first to last. */
export async function epochsOf(db: Database, runId: string): Promise<RunEpoch[]> {
  const rows = await db.select().from(runEpochs).where(eq(runEpochs.runId, runId)).orderBy(asc(runEpochs.epoch));
  return rows.map(({ runId: _runId, ...epoch }) => epoch);
}

/** The run's last `limit` log lines, oldest first. */
export async function recentLogs(db: Database, runId: string, limit: number): Promise<RunLogLine[]> {
  const rows = await db.select({ at: runLogs.at, line: runLogs.line }).from(runLogs).where(eq(runLogs.runId, runId)).orderBy(desc(runLogs.id)).limit(limit);
  return rows.reverse();
}

/** queued -> cancelled, only while still queued (null when it is no longer queued). */
export async function cancelQueued(db: Database, runId: string, change: { error: string; at: Date }): Promise<Run | null> {
  const [row] = await db
    .update(runs)
    .set({ status: 'cancelled', cancelRequested: true, finishedAt: change.at, error: change.error })
    .where(and(eq(runs.id, runId), eq(runs.status, 'queued')))
    .returning();
  return row ? toRun(row) : null;
}

/** Raises the cancel flag a running attempt polls with its heartbeat. */
export async function requestCancel(db: Database, runId: string): Promise<Run | null> {
  const [row] = await db.update(runs).set({ cancelRequested: true }).where(eq(runs.id, runId)).returning();
  return row ? toRun(row) : null;
}

/** A retry starts over: the epochs of earlier attempts go. */
export async function clearEpochs(db: Database, runId: string): Promise<void> {
  await db.delete(runEpochs).where(eq(runEpochs.runId, runId));
}

/**
 * -> running, as attempt `previousAttempts + 1` on `worker`. Only if no other worker claimed it since the run was
 * read with `previousAttempts` attempts: null when one did.
 */
export async function markRunning(db: Database, runId: string, claim: { previousAttempts: number; worker: string; at: Date }): Promise<Run | null> {
  const [row] = await db
    .update(runs)
    .set({ status: 'running', attempts: claim.previousAttempts + 1, worker: claim.worker, startedAt: claim.at, heartbeatAt: claim.at, progress: null, error: null })
    .where(and(eq(runs.id, runId), eq(runs.attempts, claim.previousAttempts)))
    .returning();
  return row ? toRun(row) : null;
}

const attemptOf = (runId: string, attempt: number) => and(eq(runs.id, runId), eq(runs.attempts, attempt));

/**
 * The attempt is alive. Returns whether a cancel was requested, or null when the attempt is no longer the running
 * one (cancelled, finished, or superseded by a retry).
 */
export async function heartbeat(db: Database, runId: string, attempt: number, at: Date): Promise<{ cancelRequested: boolean } | null> {
  const [row] = await db
    .update(runs)
    .set({ heartbeatAt: at })
    .where(and(attemptOf(runId, attempt), eq(runs.status, 'running')))
    .returning({ cancelRequested: runs.cancelRequested });
  return row ?? null;
}

/** The attempt's progress: its loading, then its training (the whole column, so the two phases are written together). */
export async function recordProgress(db: Database, runId: string, attempt: number, progress: RunProgress): Promise<void> {
  await db.update(runs).set({ progress }).where(attemptOf(runId, attempt));
}

export async function recordEpoch(db: Database, runId: string, epoch: RunEpoch): Promise<void> {
  await db.insert(runEpochs).values({ runId, ...epoch });
}

export async function appendLog(db: Database, runId: string, line: string): Promise<void> {
  await db.insert(runLogs).values({ runId, line });
}

/** Whether a cancel was requested, or null when the attempt was superseded by a retry. */
export async function cancelRequestedFor(db: Database, runId: string, attempt: number): Promise<boolean | null> {
  const [row] = await db.select({ cancel: runs.cancelRequested }).from(runs).where(attemptOf(runId, attempt));
  return row ? row.cancel : null;
}

/** running -> cancelled (the attempt stopped at a cancel request). */
export async function markCancelled(db: Database, runId: string, attempt: number, result: { lineage: Lineage; error: string; at: Date }): Promise<void> {
  await db.update(runs).set({ status: 'cancelled', lineage: result.lineage, finishedAt: result.at, error: result.error }).where(attemptOf(runId, attempt));
}

/** running -> succeeded, with what it made. */
export async function markSucceeded(
  db: Database,
  runId: string,
  attempt: number,
  result: { lineage: Lineage; evaluation: Evaluations; artifactPrefix: string; at: Date },
): Promise<void> {
  await db
    .update(runs)
    .set({ status: 'succeeded', lineage: result.lineage, evaluation: result.evaluation, artifactPrefix: result.artifactPrefix, finishedAt: result.at })
    .where(attemptOf(runId, attempt));
}

/** -> failed: of one attempt, or (attempt null) whatever attempt the run is at, e.g. when its retries are used up. */
export async function markFailed(db: Database, runId: string, attempt: number | null, failure: { error: string; at: Date }): Promise<void> {
  await db
    .update(runs)
    .set({ status: 'failed', error: failure.error, finishedAt: failure.at })
    .where(attempt === null ? eq(runs.id, runId) : attemptOf(runId, attempt));
}

/** running -> queued for every run whose last heartbeat is older than `heartbeatBefore`: their workers are presumed lost. */
export async function requeueStalled(db: Database, stale: { heartbeatBefore: Date; error: string }): Promise<{ id: string; jobId: string | null; attempts: number }[]> {
  return db
    .update(runs)
    .set({ status: 'queued', worker: null, error: stale.error })
    .where(and(eq(runs.status, 'running'), lt(runs.heartbeatAt, stale.heartbeatBefore)))
    .returning({ id: runs.id, jobId: runs.jobId, attempts: runs.attempts });
}

/**
 * queued | running -> failed, for a run whose stored row no reader can use (so no attempt can claim it). A run that
 * already finished keeps its outcome: a redelivered job must not turn a succeeded run into a failed one. False when
 * the run was not queued or running.
 */
export async function markUnreadableFailed(db: Database, runId: string, failure: { error: string; at: Date }): Promise<boolean> {
  const failed = await db
    .update(runs)
    .set({ status: 'failed', error: failure.error, finishedAt: failure.at })
    .where(and(eq(runs.id, runId), inArray(runs.status, ['queued', 'running'])))
    .returning({ id: runs.id });
  return failed.length > 0;
}
