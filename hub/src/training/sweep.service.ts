/** Hyperparameter sweeps: a grid or a seeded random sample of a config space, one queued run per point. */
import { and, eq } from 'drizzle-orm';
import { sweeps } from '../db/schema';
import type { Caller, HubDeps } from '../deps';
import { getProject } from '../datasets/project.service';
import { badRequest, notFound } from '../errors';
import { RUN_METRICS, RUN_METRIC_NAMES, type RunMetric } from './run-metrics';
import { type RunSummary, createRun, listRuns, validateRunConfigs } from './run.service';

/** Parameters a sweep may vary, and which config they belong to. */
export const SWEEP_PARAMETERS = {
  learningRate: 'train',
  batchSize: 'train',
  epochs: 'train',
  seed: 'train',
  denseUnits: 'model',
  filters: 'model',
  alpha: 'model',
  blocks: 'model',
  dropout: 'model',
} as const;
export type SweepParameter = keyof typeof SWEEP_PARAMETERS;
export const SWEEP_STRATEGIES = ['grid', 'random'] as const;
export const MAX_SWEEP_RUNS = 64;

export interface CreateSweepInput {
  project: string;
  datasetVersion: string;
  model?: Record<string, unknown>;
  train?: Record<string, unknown>;
  space: Record<string, unknown[]>;
  strategy: (typeof SWEEP_STRATEGIES)[number];
  /** For random: how many points to draw from the grid (seeded, without replacement). */
  samples?: number;
  metric: RunMetric;
}

/** Every combination of the space's values, in a stable order. */
export function gridPoints(space: Record<string, unknown[]>): Record<string, unknown>[] {
  return Object.entries(space).reduce<Record<string, unknown>[]>(
    (points, [key, values]) => points.flatMap((point) => values.map((value) => ({ ...point, [key]: value }))),
    [{}],
  );
}

export async function createSweep(deps: HubDeps, caller: Caller, input: CreateSweepInput): Promise<{ sweepId: string; runs: RunSummary[] }> {
  const project = await getProject(deps, input.project);
  for (const key of Object.keys(input.space)) {
    if (!(key in SWEEP_PARAMETERS)) throw badRequest(`space.${key}: not a sweep parameter; valid parameters: ${Object.keys(SWEEP_PARAMETERS).join(', ')}`);
    if (!input.space[key]!.length) throw badRequest(`space.${key}: give at least one value`);
  }
  let points = gridPoints(input.space);
  if (input.strategy === 'random') points = samplePoints(points, input.samples ?? Math.min(8, points.length), Number(input.train?.seed ?? 42));
  if (points.length > MAX_SWEEP_RUNS) throw badRequest(`space has ${points.length} points; a sweep may queue at most ${MAX_SWEEP_RUNS} runs (use strategy random with samples)`);
  // Validate every point before queuing any, so a bad value queues nothing.
  const configs = points.map((point) => {
    const model = { ...input.model };
    const train = { ...input.train };
    for (const [key, value] of Object.entries(point)) (SWEEP_PARAMETERS[key as SweepParameter] === 'model' ? model : train)[key] = value;
    validateRunConfigs(project.labels.length, model, train);
    return { model, train };
  });
  const [sweep] = await deps.db
    .insert(sweeps)
    .values({ projectId: project.id, strategy: input.strategy, space: input.space, metric: input.metric, createdBy: caller.name })
    .returning();
  const queued: RunSummary[] = [];
  for (const config of configs) {
    queued.push(await createRun(deps, caller, { project: input.project, datasetVersion: input.datasetVersion, ...config, sweepId: sweep!.id }));
  }
  return { sweepId: sweep!.id, runs: queued };
}

function samplePoints<T>(points: T[], samples: number, seed: number): T[] {
  const pool = [...points];
  let state = seed >>> 0 || 1;
  const chosen: T[] = [];
  while (chosen.length < samples && pool.length) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0; // LCG: reproducible draws for the same seed
    chosen.push(pool.splice(state % pool.length, 1)[0]!);
  }
  return chosen;
}

/** The best succeeded run of a sweep by `metric` (the sweep's own by default), with the ranking. */
export async function bestOfSweep(deps: HubDeps, input: { project: string; sweepId: string; metric?: RunMetric }) {
  const project = await getProject(deps, input.project);
  const [sweep] = await deps.db.select().from(sweeps).where(and(eq(sweeps.id, input.sweepId), eq(sweeps.projectId, project.id)));
  if (!sweep) throw notFound(`project "${input.project}" has no sweep ${input.sweepId}`);
  const metric = input.metric ?? (sweep.metric as RunMetric);
  if (!RUN_METRIC_NAMES.includes(metric)) throw badRequest(`metric must be one of: ${RUN_METRIC_NAMES.join(', ')}`);
  const all = await listRuns(deps, { project: input.project, limit: MAX_SWEEP_RUNS, sweepId: sweep.id });
  const sign = RUN_METRICS[metric] === 'max' ? -1 : 1;
  const ranked = all.filter((r) => r.status === 'succeeded' && r.metrics[metric] !== undefined).sort((a, b) => sign * (a.metrics[metric]! - b.metrics[metric]!));
  const pending = all.filter((r) => r.status === 'queued' || r.status === 'running').length;
  return { metric, best: ranked[0] ?? null, ranking: ranked.map((r) => ({ runId: r.id, value: r.metrics[metric]!, train: r.train, model: r.model })), pending };
}

