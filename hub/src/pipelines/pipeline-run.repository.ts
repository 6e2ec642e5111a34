/**
 * The pipeline_runs, pipeline_steps and pipeline_step_logs tables: every query and every named state change.
 *
 * A run goes running -> succeeded | failed | cancelled (a failed one back to running on resume). A step goes
 * pending -> running -> succeeded | skipped | failed (| cancelled). Who may act on a step is decided by two columns:
 * - job_id: the one queue job allowed to claim it. Every send names a fresh id, written here first, so a stale or
 *   duplicated job finds another id and does nothing.
 * - worker: the process executing it now. A running step with no worker is waiting (a training run, a canary) until
 *   heartbeat_at, its wake time; with a worker, heartbeat_at is that worker's last sign of life. Either one too old
 *   means the job or the process was lost, and the step is handed to a new job (recoverStalledSteps).
 * Every write a worker makes names it, so a worker presumed dead and replaced cannot overwrite its successor.
 */
import { type PipelineOutcome, type PipelineRunConfig, type PipelineRunStatus, type PipelineStep, type PipelineStepStatus, type PipelineTrigger, pipelineRunConfigSchema } from '@edgeloop/shared';
import { and, asc, desc, eq, gt, inArray, isNotNull, isNull, like, lt, ne, or, sql } from 'drizzle-orm';
import type { Database } from '../db/database';
import { withAdvisoryLock } from '../db/advisory-lock';
import { pipelineRuns, pipelineStepLogs, pipelineSteps } from '../db/schema';
import { parseStored } from '../db/stored-json';
import * as projects from '../projects/project.repository';

type RunRow = typeof pipelineRuns.$inferSelect;
type StepRow = typeof pipelineSteps.$inferSelect;

export type PipelineRun = Omit<RunRow, 'status' | 'trigger' | 'outcome' | 'config'> & {
  status: PipelineRunStatus;
  trigger: PipelineTrigger;
  outcome: PipelineOutcome | null;
  config: PipelineRunConfig;
};
/** A step as stored; outputs stay unknown here (the runner and the service read them through each step's schema). */
export type PipelineStepRow = Omit<StepRow, 'step' | 'status'> & { step: PipelineStep; status: PipelineStepStatus };
export type NewPipelineRun = Pick<RunRow, 'projectId' | 'modelId' | 'channel' | 'triggerDetail' | 'championVersionId' | 'createdBy'> & {
  trigger: PipelineTrigger;
  config: PipelineRunConfig;
};
/** The worker holding a step: its writes are conditional on still holding it. */
export interface StepHolder {
  runId: string;
  step: PipelineStep;
  worker: string;
}

const toRun = (row: RunRow): PipelineRun => ({
  ...row,
  status: row.status as PipelineRunStatus,
  trigger: row.trigger as PipelineTrigger,
  outcome: row.outcome as PipelineOutcome | null,
  config: parseStored(pipelineRunConfigSchema, row.config, `pipeline run ${row.id} config`),
});
const toStep = (row: StepRow): PipelineStepRow => ({ ...row, step: row.step as PipelineStep, status: row.status as PipelineStepStatus });

const stepOf = (runId: string, step: PipelineStep) => and(eq(pipelineSteps.runId, runId), eq(pipelineSteps.step, step));
const heldBy = (h: StepHolder) => and(stepOf(h.runId, h.step), eq(pipelineSteps.status, 'running'), eq(pipelineSteps.worker, h.worker));

/** The lock one (model, channel) takes while a run of it starts or resumes: at most one running run each. */
export async function inPipelineLock<T>(db: Database, modelId: string, channel: string, work: (tx: Database) => Promise<T>): Promise<T> {
  return withAdvisoryLock(db, `edgeloop.pipeline/${modelId}/${channel}`, work);
}

/** A new run with its steps, all pending, the first one assigned to the queue job `firstJobId`. */
export async function createWithSteps(tx: Database, run: NewPipelineRun, steps: readonly PipelineStep[], firstJobId: string, at: Date): Promise<PipelineRun> {
  const [row] = await tx.insert(pipelineRuns).values({ ...run, status: 'running', createdAt: at }).returning();
  await tx.insert(pipelineSteps).values(steps.map((step, position) => ({ runId: row!.id, step, position, status: 'pending', ...(position === 0 ? { jobId: firstJobId, heartbeatAt: at } : {}) })));
  return toRun(row!);
}

/** The running run of a model's channel, if any. */
export async function runningOf(db: Database, modelId: string, channel: string): Promise<PipelineRun | null> {
  const [row] = await db
    .select()
    .from(pipelineRuns)
    .where(and(eq(pipelineRuns.modelId, modelId), eq(pipelineRuns.channel, channel), eq(pipelineRuns.status, 'running')))
    .limit(1);
  return row ? toRun(row) : null;
}

/** When the newest run of a model's channel started, or null when it never had one. */
export async function lastStartOf(db: Database, modelId: string, channel: string): Promise<Date | null> {
  const [row] = await db
    .select({ at: pipelineRuns.createdAt })
    .from(pipelineRuns)
    .where(and(eq(pipelineRuns.modelId, modelId), eq(pipelineRuns.channel, channel)))
    .orderBy(desc(pipelineRuns.createdAt))
    .limit(1);
  return row?.at ?? null;
}

/** Whether a run of the project was started by a trigger whose detail begins with `detailPrefix` (an alert's id). */
export async function startedByDetail(db: Database, projectId: string, trigger: PipelineTrigger, detailPrefix: string): Promise<boolean> {
  const escaped = detailPrefix.replace(/[\\%_]/g, (c) => `\\${c}`);
  const [row] = await db
    .select({ id: pipelineRuns.id })
    .from(pipelineRuns)
    .where(and(eq(pipelineRuns.projectId, projectId), eq(pipelineRuns.trigger, trigger), like(pipelineRuns.triggerDetail, `${escaped}%`)))
    .limit(1);
  return Boolean(row);
}

export async function find(db: Database, runId: string): Promise<PipelineRun | null> {
  const [row] = await db.select().from(pipelineRuns).where(eq(pipelineRuns.id, runId));
  return row ? toRun(row) : null;
}

/** The slug of the project a run belongs to, or null when there is no such run (any string is safe to pass). */
export const projectSlugOf = (db: Database, runId: string): Promise<string | null> => projects.slugOfRow(db, pipelineRuns, runId);

/** A page of the project's runs, newest first. */
export async function listOfProject(db: Database, input: { projectId: string; limit: number; offset: number }): Promise<PipelineRun[]> {
  const rows = await db
    .select()
    .from(pipelineRuns)
    .where(eq(pipelineRuns.projectId, input.projectId))
    .orderBy(desc(pipelineRuns.createdAt), desc(pipelineRuns.id))
    .limit(input.limit)
    .offset(input.offset);
  return rows.map(toRun);
}

/** The steps of runs, in order. */
export async function stepsOf(db: Database, runIds: string[]): Promise<PipelineStepRow[]> {
  if (runIds.length === 0) return [];
  const rows = await db.select().from(pipelineSteps).where(inArray(pipelineSteps.runId, runIds)).orderBy(asc(pipelineSteps.runId), asc(pipelineSteps.position));
  return rows.map(toStep);
}

export async function findStep(db: Database, runId: string, step: PipelineStep): Promise<PipelineStepRow | null> {
  const [row] = await db.select().from(pipelineSteps).where(stepOf(runId, step));
  return row ? toStep(row) : null;
}

export async function appendLog(db: Database, runId: string, step: PipelineStep, line: string, at: Date): Promise<void> {
  await db.insert(pipelineStepLogs).values({ runId, step, line: line.slice(0, 4000), at });
}

/** A step's last `limit` log lines, oldest first. */
export async function recentLogs(db: Database, runId: string, step: PipelineStep, limit: number): Promise<{ at: Date; line: string }[]> {
  const rows = await db
    .select({ at: pipelineStepLogs.at, line: pipelineStepLogs.line })
    .from(pipelineStepLogs)
    .where(and(eq(pipelineStepLogs.runId, runId), eq(pipelineStepLogs.step, step)))
    .orderBy(desc(pipelineStepLogs.id))
    .limit(limit);
  return rows.reverse();
}

/**
 * The job `jobId` takes the step with one conditional UPDATE, if it is still the job the step waits for, the run is
 * running, and the step is as it was read: pending (a new attempt: attempts + 1) or waiting (running with no worker:
 * the same attempt goes on). Partial outputs stay (a lost worker's successor waits on the same training run); a
 * failed attempt's retry starts without them (retryStep). Null when any of that is not so:
 * another process took it first, or the job is stale.
 */
export async function claimStep(db: Database, claim: { runId: string; step: PipelineStep; jobId: string; worker: string; at: Date }): Promise<{ row: PipelineStepRow; fresh: boolean } | null> {
  const [seen] = await db.select().from(pipelineSteps).where(stepOf(claim.runId, claim.step));
  if (!seen || seen.jobId !== claim.jobId || seen.worker !== null || (seen.status !== 'pending' && seen.status !== 'running')) return null;
  const fresh = seen.status === 'pending';
  const [row] = await db
    .update(pipelineSteps)
    .set({
      status: 'running',
      attempts: fresh ? seen.attempts + 1 : seen.attempts,
      worker: claim.worker,
      heartbeatAt: claim.at,
      startedAt: seen.startedAt ?? claim.at,
    })
    .where(
      and(
        stepOf(claim.runId, claim.step),
        eq(pipelineSteps.jobId, claim.jobId),
        eq(pipelineSteps.status, seen.status),
        eq(pipelineSteps.attempts, seen.attempts),
        isNull(pipelineSteps.worker),
        sql`exists (select 1 from ${pipelineRuns} where ${pipelineRuns.id} = ${pipelineSteps.runId} and ${pipelineRuns.status} = 'running')`,
      ),
    )
    .returning();
  return row ? { row: toStep(row), fresh } : null;
}

/** The holder is alive; false when it no longer holds the step (cancelled, or handed to another worker). */
export async function heartbeat(db: Database, holder: StepHolder, at: Date): Promise<boolean> {
  const rows = await db.update(pipelineSteps).set({ heartbeatAt: at }).where(heldBy(holder)).returning({ runId: pipelineSteps.runId });
  return rows.length > 0;
}

export async function recordInputs(db: Database, holder: StepHolder, inputs: unknown, inputsHash: string): Promise<boolean> {
  const rows = await db.update(pipelineSteps).set({ inputs, inputsHash }).where(heldBy(holder)).returning({ runId: pipelineSteps.runId });
  return rows.length > 0;
}

/** The newest succeeded step of this name in the project's other runs whose inputs had this hash. */
export async function reusable(db: Database, input: { projectId: string; step: PipelineStep; inputsHash: string; notRunId: string }): Promise<{ runId: string; outputs: unknown } | null> {
  const [row] = await db
    .select({ runId: pipelineSteps.runId, outputs: pipelineSteps.outputs })
    .from(pipelineSteps)
    .innerJoin(pipelineRuns, eq(pipelineRuns.id, pipelineSteps.runId))
    .where(
      and(
        eq(pipelineSteps.step, input.step),
        eq(pipelineSteps.inputsHash, input.inputsHash),
        eq(pipelineSteps.status, 'succeeded'),
        eq(pipelineRuns.projectId, input.projectId),
        ne(pipelineSteps.runId, input.notRunId),
        isNotNull(pipelineSteps.outputs),
      ),
    )
    .orderBy(desc(pipelineSteps.finishedAt))
    .limit(1);
  return row ?? null;
}

/** running -> succeeded or skipped (reusing `reusedFromRunId`'s outputs), by its holder only. */
export async function finishStep(
  tx: Database,
  holder: StepHolder,
  result: { status: 'succeeded' | 'skipped'; outputs: unknown; reusedFromRunId: string | null; at: Date },
): Promise<boolean> {
  const rows = await tx
    .update(pipelineSteps)
    .set({ status: result.status, outputs: result.outputs, reusedFromRunId: result.reusedFromRunId, finishedAt: result.at, error: null, worker: null })
    .where(heldBy(holder))
    .returning({ runId: pipelineSteps.runId });
  return rows.length > 0;
}

/** The holder lets go of a step that waits: no worker until `wakeAt`, when job `jobId` takes it again. */
export async function waitStep(db: Database, holder: StepHolder, wait: { outputs: unknown; wakeAt: Date; jobId: string }): Promise<boolean> {
  const rows = await db
    .update(pipelineSteps)
    .set({ outputs: wait.outputs, worker: null, heartbeatAt: wait.wakeAt, jobId: wait.jobId })
    .where(heldBy(holder))
    .returning({ runId: pipelineSteps.runId });
  return rows.length > 0;
}

/** running -> pending: the attempt failed and job `jobId` tries again at `wakeAt`. */
export async function retryStep(db: Database, holder: StepHolder, retry: { error: string; jobId: string; wakeAt: Date }): Promise<boolean> {
  const rows = await db
    .update(pipelineSteps)
    .set({ status: 'pending', worker: null, error: retry.error, jobId: retry.jobId, heartbeatAt: retry.wakeAt, outputs: null })
    .where(heldBy(holder))
    .returning({ runId: pipelineSteps.runId });
  return rows.length > 0;
}

/** running -> failed, by its holder; or (holder.worker null) whatever holds it, when its retries are used up while lost. */
export async function failStep(tx: Database, holder: StepHolder | { runId: string; step: PipelineStep; worker: null }, failure: { error: string; at: Date }): Promise<boolean> {
  const where = holder.worker === null ? and(stepOf(holder.runId, holder.step), inArray(pipelineSteps.status, ['pending', 'running'])) : heldBy(holder);
  const rows = await tx
    .update(pipelineSteps)
    .set({ status: 'failed', error: failure.error, finishedAt: failure.at, worker: null })
    .where(where)
    .returning({ runId: pipelineSteps.runId });
  return rows.length > 0;
}

/** Assigns a pending step to the queue job `jobId` (the next step after one finished, or on resume). */
export async function queueStep(tx: Database, runId: string, step: PipelineStep, jobId: string, at: Date): Promise<boolean> {
  const rows = await tx
    .update(pipelineSteps)
    .set({ jobId, heartbeatAt: at })
    .where(and(stepOf(runId, step), eq(pipelineSteps.status, 'pending')))
    .returning({ runId: pipelineSteps.runId });
  return rows.length > 0;
}

/** The run's pending steps after `position` -> cancelled (the gate refused: nothing follows). */
export async function cancelStepsAfter(tx: Database, runId: string, position: number, at: Date): Promise<void> {
  await tx
    .update(pipelineSteps)
    .set({ status: 'cancelled', finishedAt: at })
    .where(and(eq(pipelineSteps.runId, runId), gt(pipelineSteps.position, position), eq(pipelineSteps.status, 'pending')));
}

/** running -> succeeded | failed, with how it ended for the model. False when the run was not running. */
export async function finishRun(tx: Database, runId: string, end: { status: 'succeeded' | 'failed'; outcome: PipelineOutcome | null; at: Date }): Promise<boolean> {
  const rows = await tx
    .update(pipelineRuns)
    .set({ status: end.status, outcome: end.outcome, finishedAt: end.at })
    .where(and(eq(pipelineRuns.id, runId), eq(pipelineRuns.status, 'running')))
    .returning({ id: pipelineRuns.id });
  return rows.length > 0;
}

/** running -> cancelled, with its unfinished steps (whoever holds one loses it: its writes name a running step). */
export async function cancelRun(tx: Database, runId: string, at: Date): Promise<boolean> {
  const rows = await tx
    .update(pipelineRuns)
    .set({ status: 'cancelled', finishedAt: at })
    .where(and(eq(pipelineRuns.id, runId), eq(pipelineRuns.status, 'running')))
    .returning({ id: pipelineRuns.id });
  if (rows.length === 0) return false;
  await tx
    .update(pipelineSteps)
    .set({ status: 'cancelled', finishedAt: at, worker: null })
    .where(and(eq(pipelineSteps.runId, runId), inArray(pipelineSteps.status, ['pending', 'running'])));
  return true;
}

/**
 * failed -> running again, from its failed step: that step goes back to pending with no attempts, assigned to job
 * `jobId`. Returns the step, or null when the run was not failed.
 */
export async function resume(tx: Database, runId: string, jobId: string, at: Date): Promise<PipelineStep | null> {
  const rows = await tx
    .update(pipelineRuns)
    .set({ status: 'running', outcome: null, finishedAt: null })
    .where(and(eq(pipelineRuns.id, runId), eq(pipelineRuns.status, 'failed')))
    .returning({ id: pipelineRuns.id });
  if (rows.length === 0) return null;
  const [step] = await tx
    .update(pipelineSteps)
    .set({ status: 'pending', attempts: 0, error: null, outputs: null, inputs: null, inputsHash: null, worker: null, jobId, heartbeatAt: at, startedAt: null, finishedAt: null })
    .where(and(eq(pipelineSteps.runId, runId), eq(pipelineSteps.status, 'failed')))
    .returning({ step: pipelineSteps.step });
  return (step?.step as PipelineStep | undefined) ?? null;
}

export interface StalledStep {
  runId: string;
  step: PipelineStep;
  status: PipelineStepStatus;
  jobId: string | null;
  worker: string | null;
  attempts: number;
}

/**
 * Steps of running runs nobody is moving: held by a worker silent since `before`, waiting past their wake time by
 * as much, or pending that long on a job that never came.
 */
export async function stalled(db: Database, before: Date): Promise<StalledStep[]> {
  const rows = await db
    .select({ runId: pipelineSteps.runId, step: pipelineSteps.step, status: pipelineSteps.status, jobId: pipelineSteps.jobId, worker: pipelineSteps.worker, attempts: pipelineSteps.attempts })
    .from(pipelineSteps)
    .innerJoin(pipelineRuns, eq(pipelineRuns.id, pipelineSteps.runId))
    .where(
      and(
        eq(pipelineRuns.status, 'running'),
        or(eq(pipelineSteps.status, 'running'), and(eq(pipelineSteps.status, 'pending'), isNotNull(pipelineSteps.jobId))),
        lt(pipelineSteps.heartbeatAt, before),
      ),
    );
  return rows.map((r) => ({ ...r, step: r.step as PipelineStep, status: r.status as PipelineStepStatus }));
}

/**
 * Hands a stalled step to the new job `jobId`, if it is still as `seen` (same job, same worker): a lost worker's step
 * goes back to pending (its next claim is a new attempt), a waiting or pending one keeps its state. One of several
 * processes recovering at once wins.
 */
export async function reissue(db: Database, seen: StalledStep, jobId: string, at: Date): Promise<boolean> {
  const rows = await db
    .update(pipelineSteps)
    .set({ jobId, heartbeatAt: at, worker: null, ...(seen.worker !== null ? { status: 'pending' } : {}) })
    .where(
      and(
        stepOf(seen.runId, seen.step),
        eq(pipelineSteps.status, seen.status),
        seen.jobId === null ? isNull(pipelineSteps.jobId) : eq(pipelineSteps.jobId, seen.jobId),
        seen.worker === null ? isNull(pipelineSteps.worker) : eq(pipelineSteps.worker, seen.worker),
      ),
    )
    .returning({ runId: pipelineSteps.runId });
  return rows.length > 0;
}

/** The model version the run's publish step made. */
export async function setChallenger(db: Database, runId: string, modelVersionId: string): Promise<void> {
  await db.update(pipelineRuns).set({ challengerVersionId: modelVersionId }).where(eq(pipelineRuns.id, runId));
}
