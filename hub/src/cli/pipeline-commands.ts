/**
 * `edgeloop pipeline run|list|show|resume|cancel`: the retraining pipeline from CI or a terminal, through a running
 * hub with a token. `run --wait` follows the run step by step and exits non-zero unless the challenger was promoted.
 */
import { Console } from 'node:console';
import type { Command } from 'commander';
import type { RouterOutputs } from '../api/app.router';
import { loadEnv } from '../env';
import { openHub } from '../hub';
import { startPipelineWorker } from '../pipelines/pipeline-worker';
import { type RemoteHub, type RemoteOptions, remoteHub } from './remote-hub';

type RunDetail = RouterOutputs['pipeline']['get'];
type StepDetail = RunDetail['steps'][number];

/** Human output goes to stderr, so stdout carries only the result (a run id) for scripts. */
const human = new Console(process.stderr);
const POLL_MS = 2000;

const remoteOptions = (command: Command) =>
  command
    .option('--hub <url>', 'hub URL (default: EDGELOOP_HUB_URL or http://127.0.0.1:8787)')
    .option('--token <secret>', 'API token (default: EDGELOOP_TOKEN)');

/** A step's state in a few words: "running (attempt 2)", "succeeded in 12.3 s", "skipped: reused run ...". */
export function stepLine(step: Pick<StepDetail, 'step' | 'status' | 'attempts' | 'seconds' | 'reusedFromRunId' | 'error'>): string {
  const took = step.seconds === null ? '' : ` in ${step.seconds.toFixed(1)} s`;
  switch (step.status) {
    case 'running':
      return `${step.step}: running (attempt ${step.attempts})${step.error ? `; ${step.error}` : ''}`;
    case 'pending':
      return `${step.step}: ${step.error ? `waiting to retry: ${step.error}` : 'pending'}`;
    case 'skipped':
      return `${step.step}: skipped, inputs unchanged: reused the outputs of run ${step.reusedFromRunId}`;
    case 'failed':
      return `${step.step}: failed${took}: ${step.error}`;
    default:
      return `${step.step}: ${step.status}${took}`;
  }
}

/** The gate's verdict, check by check. */
function verdictLines(run: RunDetail): string[] {
  if (!run.verdict) return [];
  return [`gate: ${run.verdict.promote ? 'promote' : 'keep as a candidate'}`, ...run.verdict.checks.map((check) => `  ${check.passed ? 'passed' : 'FAILED'}  ${check.detail}`)];
}

/**
 * Starts a run and follows it to its end, printing each step's state as it changes. The exit code is 0 only when the
 * challenger was promoted: a failed or cancelled run, a gate that kept it a candidate, or a canary rolled back is 1.
 */
export async function runPipelineAndWait(
  hub: RemoteHub,
  input: { project: string; model?: string; channel?: string; note?: string },
  print: (line: string) => void,
  pollMs = POLL_MS,
): Promise<{ run: RunDetail; exitCode: 0 | 1 }> {
  const started = await hub.pipeline.start.mutate(input);
  print(`pipeline run ${started.id} started for ${started.model}/${started.channel} (champion v${started.championVersion})`);
  const shown = new Map<string, string>();
  let run: RunDetail;
  for (;;) {
    run = await hub.pipeline.get.query({ pipelineRunId: started.id, logLines: 0 });
    for (const step of run.steps) {
      const line = stepLine({ ...step, seconds: step.status === 'running' ? null : step.seconds });
      if (shown.get(step.step) !== line && !(step.status === 'pending' && !step.error)) print(line);
      shown.set(step.step, line);
    }
    if (run.status !== 'running') break;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  for (const line of verdictLines(run)) print(line);
  if (run.status === 'succeeded' && run.outcome === 'promoted') {
    print(`promoted: v${run.published?.version ?? run.challengerVersion} reached every device of ${run.channel}`);
    return { run, exitCode: 0 };
  }
  print(`pipeline run ${run.id} ${run.status}${run.outcome ? ` (${run.outcome})` : ''}: ${run.reason ?? 'no reason recorded'}`);
  return { run, exitCode: 1 };
}

export function addPipelineCommands(program: Command): void {
  const pipeline = program.command('pipeline').description('the retraining pipeline: build a dataset, train, evaluate, gate, publish, roll out');

  pipeline
    .command('worker')
    .description("take pipeline step jobs and check the triggers every minute (npm start runs one unless PIPELINE_WORKER=false; set DATABASE_URL and S3_* to share a hub's database and store)")
    .option('--name <name>', 'worker name (default host:pid)')
    .action(async (opts: { name?: string }) => {
      const hub = await openHub(loadEnv());
      const worker = await startPipelineWorker(hub.deps, opts.name ? { name: opts.name } : {});
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await worker.stop();
      await hub.close();
    });

  remoteOptions(pipeline.command('run <project>').description('start a pipeline run (prints its id); with --wait, follow it and exit non-zero unless the challenger is promoted'))
    .option('--model <name>', "registered model (default: the pipeline settings' model, or the project's only one)")
    .option('--channel <name>', "channel (default: the pipeline settings' channel)")
    .option('--note <text>', 'a note recorded with the trigger, e.g. a commit')
    .option('--wait', 'follow the run to its end')
    .action(async (project: string, opts: RemoteOptions & { model?: string; channel?: string; note?: string; wait?: boolean }) => {
      const hub = remoteHub(opts);
      const input = { project, model: opts.model, channel: opts.channel, note: opts.note };
      if (!opts.wait) {
        const started = await hub.pipeline.start.mutate(input);
        human.log(`pipeline run ${started.id} started for ${started.model}/${started.channel} (champion v${started.championVersion})`);
        console.log(started.id);
        return;
      }
      const { run, exitCode } = await runPipelineAndWait(hub, input, (line) => human.log(line));
      console.log(run.id);
      process.exitCode = exitCode;
    });

  remoteOptions(pipeline.command('list <project>').description('pipeline runs, newest first'))
    .option('--limit <n>', 'how many', '20')
    .action(async (project: string, opts: RemoteOptions & { limit: string }) => {
      const { runs, more } = await remoteHub(opts).pipeline.list.query({ project, limit: Number(opts.limit) });
      human.table(
        runs.map((r) => ({ id: r.id, started: r.createdAt, trigger: r.trigger, model: `${r.model}/${r.channel}`, status: r.status, step: r.currentStep ?? '', outcome: r.outcome ?? '', reason: (r.reason ?? '').slice(0, 80) })),
      );
      if (more) human.log(`more runs: --limit ${Number(opts.limit) * 2}`);
    });

  remoteOptions(pipeline.command('show <runId>').description("a run's steps, their last log lines and the gate's verdict"))
    .option('--log-lines <n>', 'log lines per step', '5')
    .action(async (runId: string, opts: RemoteOptions & { logLines: string }) => {
      const run = await remoteHub(opts).pipeline.get.query({ pipelineRunId: runId, logLines: Number(opts.logLines) });
      human.log(`pipeline run ${run.id}: ${run.model}/${run.channel}, ${run.trigger} (${run.triggerDetail}), ${run.status}${run.outcome ? ` (${run.outcome})` : ''}`);
      if (run.reason) human.log(`reason: ${run.reason}`);
      for (const step of run.steps) {
        human.log(stepLine(step));
        for (const line of step.logs) human.log(`    ${line.at} ${line.line}`);
      }
      for (const line of verdictLines(run)) human.log(line);
    });

  remoteOptions(pipeline.command('resume <runId>').description('go on with a failed run from its failed step')).action(async (runId: string, opts: RemoteOptions) => {
    const run = await remoteHub(opts).pipeline.resume.mutate({ pipelineRunId: runId });
    human.log(`pipeline run ${run.id} resumed at ${run.currentStep}`);
  });

  remoteOptions(pipeline.command('cancel <runId>').description('stop a running run')).action(async (runId: string, opts: RemoteOptions) => {
    const run = await remoteHub(opts).pipeline.cancel.mutate({ pipelineRunId: runId });
    human.log(`pipeline run ${run.id} ${run.status}`);
  });
}
