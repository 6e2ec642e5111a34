/**
 * The `pipeline.step` job: runs one step of one pipeline run. It claims the step (one conditional UPDATE, so two hub
 * processes never run the same step), hashes the step's inputs and reuses the outputs of a succeeded step of the same
 * name and inputs in the project, or executes it. Done: outputs recorded, the next step queued (or the run ended).
 * Wait: the step lets go until its wake time, and its job is sent again. A throw: retried with backoff, then the step
 * and the run fail, with a plain message for people and the error's text in the step's log and the hub's.
 */
import crypto from 'node:crypto';
import { PIPELINE_STEPS, PIPELINE_STEP_OUTPUT_SCHEMAS, type PipelineStep, type PipelineStepJob, type PipelineStepOutputs, formatIssues, pipelineStepJobSchema } from '@edgeloop/shared';
import type { HubDeps } from '../deps';
import { HubError } from '../errors';
import { QUEUES } from '../jobs/job-queue';
import type { PipelineStepDefinition, StepContext } from './pipeline-step';
import { sha256Hex } from '../sha256';
import { canonicalJson } from './canonical-json';
import * as pipelineRuns from './pipeline-run.repository';
import type { StepHolder } from './pipeline-run.repository';
import { finishedOutputs, runViewOf } from './pipeline-run-view';

/** Each step's definition, by name: the product's (step-registry.ts), or small ones in tests. */
export type StepRegistry = { [S in PipelineStep]: PipelineStepDefinition<S> };

/** A step is tried this many times before it fails the run. */
export const MAX_ATTEMPTS = 3;
/** Seconds before retry n (1-based): 5, 10, 20... */
export const retryDelaySeconds = (attempt: number) => 5 * 2 ** (attempt - 1);
export const HEARTBEAT_MS = 10_000;

export type StepJobOutcome = 'not-claimed' | 'succeeded' | 'skipped' | 'waiting' | 'retrying' | 'failed' | 'lost';

/** Sends the job `jobId` that the step was assigned (the step row names it first, so nothing else can take it). */
export async function sendStepJob(deps: HubDeps, job: PipelineStepJob, jobId: string, startAfterSeconds = 0): Promise<void> {
  await deps.queue.send(QUEUES.pipelineStep, job, { id: jobId, startAfter: startAfterSeconds, retryLimit: 2, retryDelay: 5, expireInHours: 2 });
}

export const newJobId = () => crypto.randomUUID();

export async function runPipelineStepJob(deps: HubDeps, registry: StepRegistry, data: unknown, jobId: string, worker: string): Promise<StepJobOutcome> {
  const job = pipelineStepJobSchema.parse(data);
  const claimed = await pipelineRuns.claimStep(deps.db, { ...job, jobId, worker, at: deps.now() });
  if (!claimed) return 'not-claimed';
  const holder: StepHolder = { runId: job.runId, step: job.step, worker };
  const row = claimed.row;
  const definition = registry[job.step] as unknown as PipelineStepDefinition<PipelineStep>;

  // Log lines are written in order, one after another; the job waits for them before it ends.
  let logs: Promise<void> = Promise.resolve();
  const log = (line: string) => {
    deps.log.info(`pipeline ${job.runId.slice(0, 8)} ${job.step}: ${line}`);
    logs = logs.then(() => pipelineRuns.appendLog(deps.db, job.runId, job.step, line, deps.now())).catch(() => {});
  };
  const heartbeat = setInterval(() => void pipelineRuns.heartbeat(deps.db, holder, deps.now()).catch(() => {}), HEARTBEAT_MS);
  try {
    const run = await runViewOf(deps, job.runId);
    const earlier = await pipelineRuns.stepsOf(deps.db, [job.runId]);
    const ctx: StepContext = {
      deps,
      run,
      log,
      outputsOf<S extends PipelineStep>(step: S): PipelineStepOutputs[S] {
        const found = finishedOutputs(earlier, step);
        if (!found) throw new Error(`step ${job.step} needs the outputs of step ${step}, which has none in this run`);
        return found;
      },
    };
    if (claimed.fresh) log(`attempt ${row.attempts} of ${MAX_ATTEMPTS} on ${worker}`);
    if (row.outputs === null) {
      const inputs = await definition.inputs(ctx);
      const inputsHash = sha256Hex(canonicalJson(inputs));
      if (!(await pipelineRuns.recordInputs(deps.db, holder, inputs, inputsHash))) return 'lost';
      const reused = await pipelineRuns.reusable(deps.db, { projectId: run.projectId, step: job.step, inputsHash, notRunId: job.runId });
      const outputs = reused ? PIPELINE_STEP_OUTPUT_SCHEMAS[job.step].safeParse(reused.outputs) : null;
      if (reused && outputs?.success) {
        log(`inputs unchanged (${inputsHash.slice(0, 12)}): reusing the outputs of run ${reused.runId}`);
        return (await finish(deps, definition, holder, row.position, { status: 'skipped', outputs: outputs.data, reusedFromRunId: reused.runId })) ? 'skipped' : 'lost';
      }
    }
    const result = await definition.execute(ctx, row.outputs as Partial<PipelineStepOutputs[PipelineStep]> | null);
    if (result.status === 'wait') {
      const nextJob = newJobId();
      const wakeAt = new Date(deps.now().getTime() + result.afterSeconds * 1000);
      const kept = { ...((row.outputs as object | null) ?? {}), ...(result.outputs ?? {}) };
      if (!(await pipelineRuns.waitStep(deps.db, holder, { outputs: kept, wakeAt, jobId: nextJob }))) return 'lost';
      await sendStepJob(deps, job, nextJob, result.afterSeconds);
      return 'waiting';
    }
    const parsed = PIPELINE_STEP_OUTPUT_SCHEMAS[job.step].safeParse(result.outputs);
    if (!parsed.success) throw new Error(`step ${job.step} made outputs that do not match their contract: ${formatIssues(parsed.error)}`);
    return (await finish(deps, definition, holder, row.position, { status: 'succeeded', outputs: parsed.data, reusedFromRunId: null })) ? 'succeeded' : 'lost';
  } catch (error) {
    return await failAttempt(deps, holder, row.attempts, error as Error, log);
  } finally {
    clearInterval(heartbeat);
    await logs;
  }
}

/**
 * An attempt threw. A HubError's message is for people as it is; anything else is logged (step log and hub log) under
 * a short id that the step's error names. Retried with backoff until MAX_ATTEMPTS, then the step and the run fail.
 */
async function failAttempt(deps: HubDeps, holder: StepHolder, attempt: number, error: Error, log: (line: string) => void): Promise<StepJobOutcome> {
  const id = crypto.randomBytes(4).toString('hex');
  log(`attempt ${attempt} failed [${id}]: ${error.message}`);
  deps.log.error(`pipeline ${holder.runId} ${holder.step} [${id}]: ${error.stack ?? error.message}`);
  const plain = error instanceof HubError ? `${error.message} (logged as ${id})` : `the step stopped on an internal error (logged as ${id})`;
  if (attempt < MAX_ATTEMPTS) {
    const delay = retryDelaySeconds(attempt);
    const nextJob = newJobId();
    const retrying = await pipelineRuns.retryStep(deps.db, holder, { error: `attempt ${attempt} of ${MAX_ATTEMPTS}: ${plain}; retrying in ${delay} s`, jobId: nextJob, wakeAt: new Date(deps.now().getTime() + delay * 1000) });
    if (!retrying) return 'lost';
    await sendStepJob(deps, holder, nextJob, delay);
    return 'retrying';
  }
  const failed = await deps.db.transaction(async (tx) => {
    if (!(await pipelineRuns.failStep(tx, holder, { error: `failed after ${attempt} attempts: ${plain}`, at: deps.now() }))) return false;
    await pipelineRuns.finishRun(tx, holder.runId, { status: 'failed', outcome: null, at: deps.now() });
    return true;
  });
  if (failed) deps.log.warn(`pipeline ${holder.runId}: step ${holder.step} failed after ${attempt} attempts; resume the run to try it again`);
  return failed ? 'failed' : 'lost';
}

/**
 * Records the step's end and what follows, in one transaction: the next step assigned to a new job, or the run's end
 * (after the last step, or when the step says the run ends here). The job is sent after the commit.
 */
async function finish(
  deps: HubDeps,
  definition: PipelineStepDefinition<PipelineStep>,
  holder: StepHolder,
  position: number,
  result: { status: 'succeeded' | 'skipped'; outputs: PipelineStepOutputs[PipelineStep]; reusedFromRunId: string | null },
): Promise<boolean> {
  const ending = definition.outcome?.(result.outputs as never) ?? null;
  const next = PIPELINE_STEPS[position + 1];
  const nextJob = newJobId();
  const at = deps.now();
  const queued = await deps.db.transaction(async (tx) => {
    if (!(await pipelineRuns.finishStep(tx, holder, { ...result, at }))) return null;
    if (ending?.final || !next) {
      await pipelineRuns.cancelStepsAfter(tx, holder.runId, position, at);
      await pipelineRuns.finishRun(tx, holder.runId, { status: 'succeeded', outcome: ending?.outcome ?? null, at });
      return 'ended' as const;
    }
    await pipelineRuns.queueStep(tx, holder.runId, next, nextJob, at);
    return 'next' as const;
  });
  if (queued === null) return false;
  if (queued === 'next') await sendStepJob(deps, { runId: holder.runId, step: next! }, nextJob);
  else deps.log.info(`pipeline ${holder.runId}: ended after ${holder.step}${ending ? ` (${ending.outcome})` : ''}`);
  return true;
}

/**
 * A step whose worker or job was lost is silent this long before it is handed to a new job. Generous: steps run in
 * the hub's own process, where a long synchronous stretch (a model evaluated on the CPU) delays the heartbeat timer.
 */
export const STALE_AFTER_MS = 3 * 60_000;

/**
 * Hands steps nobody is moving to new jobs: a worker that stopped sending heartbeats (its step goes back to pending,
 * a new attempt; failed once its attempts are used up), a wait whose job never came, a queued step whose job was lost.
 */
export async function recoverStalledSteps(deps: HubDeps): Promise<number> {
  const stale = await pipelineRuns.stalled(deps.db, new Date(deps.now().getTime() - STALE_AFTER_MS));
  let recovered = 0;
  for (const seen of stale) {
    if (seen.worker !== null && seen.attempts >= MAX_ATTEMPTS) {
      const failed = await deps.db.transaction(async (tx) => {
        if (!(await pipelineRuns.failStep(tx, { runId: seen.runId, step: seen.step, worker: null }, { error: `its worker (${seen.worker}) stopped and the ${MAX_ATTEMPTS} attempts are used up`, at: deps.now() }))) return false;
        return pipelineRuns.finishRun(tx, seen.runId, { status: 'failed', outcome: null, at: deps.now() });
      });
      if (failed) recovered++;
      continue;
    }
    const jobId = newJobId();
    if (!(await pipelineRuns.reissue(deps.db, seen, jobId, deps.now()))) continue;
    deps.log.warn(`pipeline ${seen.runId} ${seen.step}: ${seen.worker ? `worker ${seen.worker} went silent` : 'its job never came'}; handing it to a new job`);
    await sendStepJob(deps, { runId: seen.runId, step: seen.step }, jobId);
    recovered++;
  }
  return recovered;
}
