/**
 * The contract every pipeline step implements (one file per step: `<step>.step.ts`). The runner (pipeline-step.job.ts)
 * asks a step for its inputs, hashes them (sha256 of their canonical JSON) and skips the step when a succeeded step of
 * the same name had the same hash, reusing its outputs; otherwise it executes the step. A step that waits on something
 * long (a training run, a canary) returns `wait`, and the runner sends its job again after that many seconds.
 */
import type { PipelineOutcome, PipelineSettings, PipelineStep, PipelineStepOutputs } from '@edgeloop/shared';
import type { HubDeps } from '../deps';

/** The run a step belongs to, as the step sees it. */
export interface PipelineRunView {
  id: string;
  projectId: string;
  project: string;
  modelId: string;
  model: string;
  channel: string;
  /** The version the channel pointed to when the run started: the champion. */
  championVersionId: string;
  /** The settings as they were when the run started (triggers, holdout, training, gate, rollout). */
  settings: PipelineSettings;
  /** Who started it (the createdBy of rows the steps make). */
  createdBy: string;
}

export interface StepContext {
  deps: HubDeps;
  run: PipelineRunView;
  /** The outputs of an earlier step of this run (succeeded or skipped); throws if it has none. */
  outputsOf<S extends PipelineStep>(step: S): PipelineStepOutputs[S];
  /** A line in the step's log (pipeline_step_logs), shown live in the admin. */
  log(line: string): void;
}

export type StepResult<S extends PipelineStep> =
  | { status: 'done'; outputs: PipelineStepOutputs[S] }
  /** Not finished: look again after this many seconds (outputs so far, e.g. the training run's id, are kept). */
  | { status: 'wait'; afterSeconds: number; outputs?: Partial<PipelineStepOutputs[S]> };

export interface PipelineStepDefinition<S extends PipelineStep> {
  step: S;
  /**
   * The step's inputs as JSON: everything its result depends on (ids of immutable things, settings it uses), never
   * times or run ids, so that a rerun over unchanged inputs has the same hash and is skipped.
   */
  inputs(ctx: StepContext): Promise<unknown>;
  /** Does the step's work. `previous` is what a former `wait` of this same step recorded (a run id to keep waiting on). */
  execute(ctx: StepContext, previous: Partial<PipelineStepOutputs[S]> | null): Promise<StepResult<S>>;
  /**
   * How the run ends after this step, if it ends here: the gate's "no" ends it as a candidate (later steps
   * cancelled); the rollout's result is the run's outcome. Absent or null: the run goes on (or, after the last step,
   * ends with no outcome).
   */
  outcome?(outputs: PipelineStepOutputs[S]): { outcome: PipelineOutcome; final: boolean } | null;
}
