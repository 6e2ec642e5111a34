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
  type TrainingProgress,
  evaluationsSchema,
  lineageSchema,
  storedModelConfigSchema,
  storedTrainConfigSchema,
  storedTrainingProgressSchema,
} from '@edgeloop/shared';
import { and, asc, desc, eq, inArray, lt } from 'drizzle-orm';
import type { Database } from '../db/database';
import { runEpochs, runLogs, runs } from '../db/schema';
import { parseStored } from '../db/stored-json';
import * as projects from '../projects/project.repository';

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** A run as stored, its jsonb columns parsed with their contracts. */
export type Run = Omit<typeof runs.$inferSelect, 'status'> & { status: RunStatus };
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
    progress: progressOf(row.progress),
  };
}

/** Progress is display only: a row that does not match the contract (an old or hand-made one) reads as no progress, not an error. */
function progressOf(stored: unknown): TrainingProgress | null {
  const parsed = storedTrainingProgressSchema.safeParse(stored);
  return parsed.success ? parsed.data : null;
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

/** A project's runs (of one sweep, if given), newest first. */
export async function listOfProject(db: Database, input: { projectId: string; sweepId?: string; limit: number }): Promise<Run[]> {
  const rows = await db
    .select()
    .from(runs)
    .where(and(eq(runs.projectId, input.projectId), input.sweepId ? eq(runs.sweepId, input.sweepId) : undefined))
    .orderBy(desc(runs.createdAt))
    .limit(input.limit);
  return rows.map(toRun);
}

/** The epochs a run has recorded, first to last. */
export async function epochsOf(db: Database, runId: string): Promise<RunEpoch[]> {
  const rows = await db.select().from(runEpochs).where(eq(runEpochs.runId, runId)).orderBy(asc(runEpochs.epoch));
  return rows.map(({ runId: _runId, ...epoch }) => epoch);
}

/** Each run's last recorded epoch, in one query (a list's runs, without a query per run). */
export async function lastEpochsOf(db: Database, runIds: readonly string[]): Promise<Map<string, RunEpoch>> {
  if (!runIds.length) return new Map();
  const rows = await db
    .selectDistinctOn([runEpochs.runId])
    .from(runEpochs)
    .where(inArray(runEpochs.runId, [...runIds]))
    .orderBy(runEpochs.runId, desc(runEpochs.epoch));
  return new Map(rows.map(({ runId, ...epoch }) => [runId, epoch]));
}

export async function lastEpochOf(db: Database, runId: string): Promise<RunEpoch | null> {
  const [row] = await db.select().from(runEpochs).where(eq(runEpochs.runId, runId)).orderBy(desc(runEpochs.epoch)).limit(1);
  if (!row) return null;
  const { runId: _runId, ...epoch } = row;
  return epoch;
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

export async function recordProgress(db: Database, runId: string, attempt: number, progress: TrainingProgress): Promise<void> {
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
