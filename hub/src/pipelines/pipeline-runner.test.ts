/**
 * The pipeline engine on real PGlite / PostgreSQL 15 and real pg-boss, with small steps of its own (a registry passed
 * to the runner) that count what they do: skip on unchanged inputs, waits, retries then failure and resume, two
 * runners on one step, one running run per model's channel, and a lost worker's step handed on.
 */
import crypto from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Behaviour, championOnChannel, testRegistry, zeroCounts } from '../../test/pipeline-test-steps';
import { DATABASES, type TestHub, createTestHub, refusal } from '../../test/test-hub';
import type { Caller, HubDeps } from '../deps';
import { QUEUES, openJobQueue } from '../jobs/job-queue';
import * as pipelineRuns from './pipeline-run.repository';
import { MAX_ATTEMPTS, recoverStalledSteps, runPipelineStepJob } from './pipeline-step.job';
import { startPipelineWorker } from './pipeline-worker';
import { cancelPipelineRun, getPipelineRun, resumePipelineRun, startPipelineRun } from './pipeline.service';

const PROJECT = 'loop';
const engineer: Caller = { tokenId: null, name: 'test-engineer', role: 'engineer', projects: null };

async function waitForEnd(deps: HubDeps, runId: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await getPipelineRun(deps, { runId, logLines: 50 });
    if (run.status !== 'running') return run;
    if (Date.now() > deadline) throw new Error(`pipeline run ${runId} still running at ${run.currentStep}: ${JSON.stringify(run.steps)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.each(DATABASES)('the pipeline runner, $kind', ({ kind, skip }) => {
  let hub: TestHub;
  let behaviour: Behaviour;
  beforeAll(async () => {
    if (skip) return;
    hub = await createTestHub(kind);
    await (await hub.as('admin')).projects.create({ slug: PROJECT, labels: ['cat', 'dog'] });
    await championOnChannel(hub.deps, PROJECT, 'mdl');
  });
  afterAll(() => hub?.close());
  beforeEach(() => {
    behaviour = { marker: crypto.randomUUID(), evaluateFailures: 0, promote: true, buildMs: 0, executed: zeroCounts() };
  });

  const start = () => startPipelineRun(hub.deps, engineer, { project: PROJECT, trigger: 'manual', triggerDetail: 'test' });

  it.skipIf(skip)('runs the six steps in order through a wait, and a rerun with unchanged inputs skips them all, reusing the outputs', async () => {
    const worker = await startPipelineWorker(hub.deps, { name: 'w1', registry: testRegistry(behaviour), triggers: false });
    try {
      const first = await waitForEnd(hub.deps, (await start()).id);
      expect(first).toMatchObject({ status: 'succeeded', outcome: 'promoted', championVersion: 1, reason: 'no regression in 200 canary events' });
      expect(first.steps.map((s) => [s.step, s.status, s.attempts])).toEqual([
        ['build-dataset', 'succeeded', 1],
        ['train', 'succeeded', 1],
        ['evaluate', 'succeeded', 1],
        ['gate', 'succeeded', 1],
        ['publish', 'succeeded', 1],
        ['rollout', 'succeeded', 1],
      ]);
      // train ran twice: once to start and wait, once to finish the same attempt.
      expect(behaviour.executed).toEqual({ 'build-dataset': 1, train: 2, evaluate: 1, gate: 1, publish: 1, rollout: 1 });
      expect(first.steps[0]!.logs.map((l) => l.line)).toContain(`building ${behaviour.marker}`);
      expect(first.training!.runId).toMatch(/^[0-9a-f-]{36}$/);

      const second = await waitForEnd(hub.deps, (await start()).id);
      expect(second).toMatchObject({ status: 'succeeded', outcome: 'promoted' });
      expect(second.steps.map((s) => [s.status, s.reusedFromRunId])).toEqual(second.steps.map(() => ['skipped', first.id]));
      expect(behaviour.executed).toEqual({ 'build-dataset': 1, train: 2, evaluate: 1, gate: 1, publish: 1, rollout: 1 });
      expect(second.training).toEqual(first.training);
      expect(second.steps.map((s) => s.inputsHash)).toEqual(first.steps.map((s) => s.inputsHash));

      // New data: the steps run again, but the gate, whose inputs (the evaluation, the same numbers) did not change.
      behaviour.marker = crypto.randomUUID();
      const third = await waitForEnd(hub.deps, (await start()).id);
      expect(third.steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'skipped', 'succeeded', 'succeeded']);
      expect(third.steps[3]!.reusedFromRunId).toBe(first.id);
      expect(behaviour.executed).toEqual({ 'build-dataset': 2, train: 4, evaluate: 2, gate: 1, publish: 2, rollout: 2 });
    } finally {
      await worker.stop();
    }
  });

  it.skipIf(skip)('ends a run the gate refuses as a candidate with the reason, cancelling publish and rollout', async () => {
    behaviour.promote = false;
    const worker = await startPipelineWorker(hub.deps, { name: 'w1', registry: testRegistry(behaviour), triggers: false });
    try {
      const run = await waitForEnd(hub.deps, (await start()).id);
      expect(run).toMatchObject({ status: 'succeeded', outcome: 'candidate', reason: 'holdout gain 0.2 points (bound 1)' });
      expect(run.verdict).toMatchObject({ promote: false });
      expect(run.steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded', 'cancelled', 'cancelled']);
      expect(behaviour.executed.publish).toBe(0);
    } finally {
      await worker.stop();
    }
  });

  it.skipIf(skip)('retries a step that throws, then fails the run visibly with a plain message; resume goes on from that step', { timeout: 90_000 }, async () => {
    behaviour.evaluateFailures = MAX_ATTEMPTS;
    const worker = await startPipelineWorker(hub.deps, { name: 'w1', registry: testRegistry(behaviour), triggers: false });
    try {
      const failed = await waitForEnd(hub.deps, (await start()).id);
      const evaluate = failed.steps.find((s) => s.step === 'evaluate')!;
      expect(failed.status).toBe('failed');
      expect(evaluate).toMatchObject({ status: 'failed', attempts: MAX_ATTEMPTS });
      expect(evaluate.error).toMatch(/^failed after 3 attempts: the step stopped on an internal error \(logged as [0-9a-f]{8}\)$/);
      expect(evaluate.error).not.toContain('/srv/secret');
      expect(failed.reason).toBe(`evaluate: ${evaluate.error}`);
      // Each attempt's error is in the step's log, under the id its message names.
      expect(evaluate.logs.filter((l) => /attempt \d failed \[[0-9a-f]{8}\]: disk on fire/.test(l.line))).toHaveLength(MAX_ATTEMPTS);
      expect(failed.steps.slice(3).map((s) => s.status)).toEqual(['pending', 'pending', 'pending']);
      expect(behaviour.executed.evaluate).toBe(MAX_ATTEMPTS);

      const resumed = await resumePipelineRun(hub.deps, engineer, failed.id);
      expect(resumed.status).toBe('running');
      const done = await waitForEnd(hub.deps, failed.id);
      expect(done).toMatchObject({ status: 'succeeded', outcome: 'promoted' });
      expect(done.steps.map((s) => [s.step, s.status, s.attempts])).toEqual([
        ['build-dataset', 'succeeded', 1],
        ['train', 'succeeded', 1],
        ['evaluate', 'succeeded', 1],
        ['gate', 'skipped', 1], // the same evaluation as the runs before
        ['publish', 'succeeded', 1],
        ['rollout', 'succeeded', 1],
      ]);
      // Nothing before the failed step ran again.
      expect(behaviour.executed).toMatchObject({ 'build-dataset': 1, train: 2, evaluate: MAX_ATTEMPTS + 1 });
      expect(await refusal((await hub.as('engineer')).pipeline.resume({ pipelineRunId: failed.id }))).toMatchObject({ code: 'CONFLICT', message: `pipeline run ${failed.id} is succeeded; only a failed run can be resumed` });
    } finally {
      await worker.stop();
    }
  });

  it.skipIf(skip)('runs a step once when two runners on two queue clients race for its job', async () => {
    behaviour.buildMs = 300;
    const registry = testRegistry(behaviour);
    const otherQueue = await openJobQueue(hub.queueConnection);
    try {
      const run = await start();
      const step = (await pipelineRuns.findStep(hub.deps.db, run.id, 'build-dataset'))!;
      const job = { runId: run.id, step: 'build-dataset' };
      const outcomes = await Promise.all([
        runPipelineStepJob(hub.deps, registry, job, step.jobId!, 'runner-a'),
        runPipelineStepJob({ ...hub.deps, queue: otherQueue }, registry, job, step.jobId!, 'runner-b'),
      ]);
      expect(outcomes.sort()).toEqual(['not-claimed', 'succeeded']);
      expect(behaviour.executed['build-dataset']).toBe(1);
      // The same job delivered again finds the step done.
      expect(await runPipelineStepJob(hub.deps, registry, job, step.jobId!, 'runner-c')).toBe('not-claimed');

      // And whole runs with two workers on the database: every step once.
      await cancelPipelineRun(hub.deps, engineer, run.id);
      behaviour.buildMs = 0;
      behaviour.marker = crypto.randomUUID();
      const a = await startPipelineWorker(hub.deps, { name: 'a', registry, triggers: false });
      const b = await startPipelineWorker({ ...hub.deps, queue: otherQueue }, { name: 'b', registry, triggers: false });
      try {
        const done = await waitForEnd(hub.deps, (await start()).id);
        expect(done.status).toBe('succeeded');
        expect(done.steps.every((s) => s.attempts === 1)).toBe(true);
        expect(behaviour.executed).toEqual({ 'build-dataset': 2, train: 2, evaluate: 1, gate: 0, publish: 1, rollout: 1 });
      } finally {
        await a.stop();
        await b.stop();
      }
    } finally {
      await otherQueue.stop({ graceful: false, wait: true });
    }
  });

  it.skipIf(skip)('keeps one running run per model and channel, naming the running one', async () => {
    const concurrent = await Promise.allSettled([start(), start(), start()]);
    const started = concurrent.filter((r) => r.status === 'fulfilled').map((r) => r.value);
    expect(started).toHaveLength(1);
    for (const r of concurrent.filter((r) => r.status === 'rejected')) {
      expect((r.reason as Error).message).toMatch(new RegExp(`^pipeline run ${started[0]!.id} of mdl/production is still running`));
    }
    const refused = await refusal((await hub.as('ci')).pipeline.start({ project: PROJECT }));
    expect(refused).toMatchObject({ code: 'CONFLICT', message: expect.stringContaining(started[0]!.id) });
    const cancelled = await cancelPipelineRun(hub.deps, engineer, started[0]!.id);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.steps.map((s) => s.status)).toEqual(['cancelled', 'cancelled', 'cancelled', 'cancelled', 'cancelled', 'cancelled']);
    const next = await start();
    expect(next.status).toBe('running');
    await cancelPipelineRun(hub.deps, engineer, next.id);
    // Naming a model or channel that is not there says which there are.
    expect(await refusal((await hub.as('engineer')).pipeline.start({ project: PROJECT, model: 'nope' }))).toEqual({ code: 'NOT_FOUND', message: `model: project "${PROJECT}" has no model "nope"; its models: mdl` });
    expect(await refusal((await hub.as('engineer')).pipeline.start({ project: PROJECT, channel: 'beta' }))).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/^channel: "beta" of model "mdl" points to no version.*\(channels with a version: production\)$/) });
  });

  it.skipIf(skip)("hands a lost worker's step to a new job, which finishes the run", async () => {
    const registry = testRegistry(behaviour);
    const run = await start();
    const step = (await pipelineRuns.findStep(hub.deps.db, run.id, 'build-dataset'))!;
    // A worker claims the step and dies: no heartbeats, no result.
    expect(await pipelineRuns.claimStep(hub.deps.db, { runId: run.id, step: 'build-dataset', jobId: step.jobId!, worker: 'dead', at: new Date() })).not.toBeNull();
    expect(await recoverStalledSteps(hub.deps)).toBe(0); // not silent long enough yet
    const later = { ...hub.deps, now: () => new Date(Date.now() + 10 * 60_000) };
    expect(await recoverStalledSteps(later)).toBe(1);
    const worker = await startPipelineWorker(hub.deps, { name: 'rescuer', registry, triggers: false });
    try {
      const done = await waitForEnd(hub.deps, run.id);
      expect(done.status).toBe('succeeded');
      expect(done.steps[0]).toMatchObject({ status: 'succeeded', attempts: 2 });
      expect(behaviour.executed['build-dataset']).toBe(1);
    } finally {
      await worker.stop();
    }
  });

  it.skipIf(skip)('sends a waiting step a new job when its job was lost, going on with the same attempt', async () => {
    const registry = testRegistry(behaviour);
    const run = await start();
    const build = (await pipelineRuns.findStep(hub.deps.db, run.id, 'build-dataset'))!;
    expect(await runPipelineStepJob(hub.deps, registry, { runId: run.id, step: 'build-dataset' }, build.jobId!, 'by-hand')).toBe('succeeded');
    const train = (await pipelineRuns.findStep(hub.deps.db, run.id, 'train'))!;
    expect(await runPipelineStepJob(hub.deps, registry, { runId: run.id, step: 'train' }, train.jobId!, 'by-hand')).toBe('waiting');
    // The wait's job is lost (here: cancelled in the queue); nothing would ever wake the step.
    const waiting = (await pipelineRuns.findStep(hub.deps.db, run.id, 'train'))!;
    expect(waiting).toMatchObject({ status: 'running', worker: null, attempts: 1 });
    await hub.deps.queue.cancel(QUEUES.pipelineStep, waiting.jobId!);
    expect(await recoverStalledSteps({ ...hub.deps, now: () => new Date(Date.now() + 10 * 60_000) })).toBe(1);
    const worker = await startPipelineWorker(hub.deps, { name: 'rescuer', registry, triggers: false });
    try {
      const done = await waitForEnd(hub.deps, run.id);
      expect(done.status).toBe('succeeded');
      // The same attempt went on, with the training run id it recorded before the wait.
      expect(done.steps[1]).toMatchObject({ status: 'succeeded', attempts: 1 });
      expect(done.training!.runId).toBe((waiting.outputs as { runId: string }).runId);
      expect(behaviour.executed.train).toBe(2);
    } finally {
      await worker.stop();
    }
  });
});
