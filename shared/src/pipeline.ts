/**
 * The retraining pipeline's contracts: its steps, a project's settings (triggers, the gate's margins, the staged
 * rollout), and the gate's verdict. Stored as jsonb (pipeline_settings, pipeline_runs.config) and sent to the admin.
 */
import { z } from 'zod';
import { channelNameSchema, modelNameSchema } from './model-manifest';

/** The steps of a run, in order; each is one queue job. */
export const PIPELINE_STEPS = ['build-dataset', 'train', 'evaluate', 'gate', 'publish', 'rollout'] as const;
export type PipelineStep = (typeof PIPELINE_STEPS)[number];

export const PIPELINE_TRIGGERS = ['manual', 'ci', 'alert', 'reviews', 'schedule'] as const;
export type PipelineTrigger = (typeof PIPELINE_TRIGGERS)[number];

export const PIPELINE_RUN_STATUSES = ['running', 'succeeded', 'failed', 'cancelled'] as const;
export type PipelineRunStatus = (typeof PIPELINE_RUN_STATUSES)[number];

export const PIPELINE_STEP_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled'] as const;
export type PipelineStepStatus = (typeof PIPELINE_STEP_STATUSES)[number];

/** How a run ended for the model: the challenger reached every device, stayed a candidate (the gate refused), or was rolled back from canary. */
export const PIPELINE_OUTCOMES = ['promoted', 'candidate', 'rolled-back'] as const;
export type PipelineOutcome = (typeof PIPELINE_OUTCOMES)[number];

/** A five-field cron expression (minute hour day-of-month month day-of-week), as pg-boss schedules take it. */
const cronSchema = z
  .string()
  .max(100)
  .regex(/^\s*(\S+\s+){4}\S+\s*$/, 'schedule must be a five-field cron expression, e.g. "0 3 * * *" (03:00 every day)');

const points = (max: number) => z.number().min(0).max(max);

export const pipelineSettingsSchema = z.object({
  /** The registered model and channel the pipeline retrains and rolls out; null = the project's only model. */
  model: modelNameSchema.nullable().default(null),
  channel: channelNameSchema.default('production'),
  triggers: z
    .object({
      /** An alert open this many minutes on the channel's stream starts a run; null = off. */
      alertOpenMinutes: z.number().int().min(1).max(10_080).nullable().default(30),
      /** This many reviews since the last run started one; null = off. */
      newReviews: z.number().int().min(10).max(100_000).nullable().default(300),
      /** A cron schedule (UTC); null = none. */
      schedule: cronSchema.nullable().default(null),
    })
    .prefault({}),
  /** The newest reviewed items kept out of training to judge champion and challenger on recent data. */
  holdout: z
    .object({
      share: z.number().min(0.05).max(0.5).default(0.3),
      minItems: z.number().int().min(10).max(10_000).default(30),
    })
    .prefault({}),
  training: z
    .object({
      /** Start from the champion's weights (fine-tune) instead of from scratch. */
      warmStart: z.boolean().default(true),
      /**
       * The challenger's train config over the champion's: a short fine-tune at a lower, constant learning rate, on the
       * base items sampled down and the reviewed items repeated to a share of each epoch (train config reviewedShare,
       * maxBaseItems). Measured on Fashion-MNIST with 350 reviewed images of a shifted stream: ~80% of the lost
       * accuracy back, vs under half with every base item once.
       */
      epochs: z.number().int().min(1).max(100).default(3),
      learningRate: z.number().positive().max(1).default(0.0005),
      reviewedShare: z.number().min(0.01).max(0.9).default(0.12),
      maxBaseItems: z.number().int().min(100).max(10_000_000).default(10_000),
      /**
       * Train the challenger for the class mix the monitor estimates now (EM on the champion's stream; train config
       * classPriors). A changed class mix costs accuracy that fine-tuning alone barely wins back, but the corrected model
       * is worse on the base test split's mix: the gate's base-test bound decides whether that trade is taken.
       */
      priorCorrection: z.boolean().default(false),
    })
    .prefault({}),
  gate: z
    .object({
      /** The challenger must beat the champion on the recent holdout by this many accuracy points... */
      minHoldoutGain: points(50).default(1),
      /** ...with McNemar's exact test on the paired predictions significant at this level... */
      alpha: z.number().min(0.001).max(0.5).default(0.05),
      /** ...lose at most this many points on the base test split... */
      maxBaseTestLoss: points(100).default(1),
      /** ...and no class's recall may drop by more than this many points. */
      maxClassRecallDrop: points(100).default(5),
    })
    .prefault({}),
  rollout: z
    .object({
      /** The share of devices (by a stable hash of their id) that get the candidate first. */
      canaryShare: z.number().min(0.01).max(0.5).default(0.1),
      /** Canary events needed before it may reach every device. */
      minCanaryEvents: z.number().int().min(10).max(1_000_000).default(200),
      /** A regression: canary's label-free accuracy estimate this many points under production's... */
      maxAccuracyDrop: points(100).default(2),
      /** ...or its p95 latency this many times production's. */
      maxLatencyRatio: z.number().min(1).max(100).default(1.5),
      /** Promote or roll back by itself once decided; false = wait for an engineer. */
      automatic: z.boolean().default(true),
    })
    .prefault({}),
});
export type PipelineSettings = z.infer<typeof pipelineSettingsSchema>;
export type PipelineSettingsInput = z.input<typeof pipelineSettingsSchema>;
export const DEFAULT_PIPELINE_SETTINGS: PipelineSettings = pipelineSettingsSchema.parse({});

/** One of the gate's checks, with the measured value and the bound it was held to (accuracy points, or a p-value). */
export const gateCheckSchema = z.object({
  check: z.enum(['holdout-gain', 'holdout-significance', 'base-test-loss', 'class-recall']),
  passed: z.boolean(),
  value: z.number(),
  bound: z.number(),
  /** The check in words for people, e.g. "Shirt recall fell 7.5 points (bound 5)". */
  detail: z.string(),
});
export type GateCheck = z.infer<typeof gateCheckSchema>;

export const gateVerdictSchema = z.object({
  promote: z.boolean(),
  checks: z.array(gateCheckSchema),
  /** The failed checks' details joined, or why it passed. */
  reason: z.string(),
});
export type GateVerdict = z.infer<typeof gateVerdictSchema>;

/**
 * A run's options as it started (pipeline_runs.config): the project's settings then (model and channel resolved), and
 * the champion it challenges (the channel's version then, and the training run that made it).
 */
export const pipelineRunConfigSchema = z.object({
  settings: pipelineSettingsSchema,
  champion: z.object({ version: z.number().int().min(1), runId: z.uuid() }),
});
export type PipelineRunConfig = z.infer<typeof pipelineRunConfigSchema>;

/** The `pipeline.step` queue job: one step of one run (the step row names the job id allowed to take it). */
export const pipelineStepJobSchema = z.object({ runId: z.uuid(), step: z.enum(PIPELINE_STEPS) });
export type PipelineStepJob = z.infer<typeof pipelineStepJobSchema>;
