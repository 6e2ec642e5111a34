/** Hyperparameter sweeps: a grid or a seeded random sample of a config space, one queued run per point. */
import { MAX_SWEEP_RUNS, MAX_SWEEP_VALUES, SWEEP_PARAMETERS, type SweepParameter, type SweepSpace, sweepValueSchema } from '@edgeloop/shared';
import type { Caller, HubDeps } from '../deps';
import { getProject } from '../projects/project.service';
import { badRequest, notFound } from '../errors';
import { RUN_METRICS, RUN_METRIC_NAMES, type RunMetric } from './run-metrics';
import { type RunSummary, createRun, listRuns, validateRunConfigs } from './run.service';
import * as sweeps from './sweep.repository';

export const SWEEP_STRATEGIES = ['grid', 'random'] as const;
export { MAX_SWEEP_RUNS, MAX_SWEEP_VALUES, SWEEP_PARAMETERS } from '@edgeloop/shared';
/** Largest space a random sweep may draw from (points are drawn by index, never listed). */
export const MAX_SWEEP_SPACE = 1_000_000;

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

/**
 * The space, checked: sweep parameters only (own keys of SWEEP_PARAMETERS, so toString, constructor and __proto__
 * are none), 1 to MAX_SWEEP_VALUES values each, and each value one the database stores as it is. A new object, so
 * nothing of the caller's object (its prototype) travels on.
 */
export function checkSpace(space: Record<string, unknown[]>): SweepSpace {
  const checked: SweepSpace = {};
  for (const [key, values] of Object.entries(space)) {
    if (!Object.hasOwn(SWEEP_PARAMETERS, key)) throw badRequest(`space.${key}: not a sweep parameter; valid parameters: ${Object.keys(SWEEP_PARAMETERS).join(', ')}`);
    if (!values.length) throw badRequest(`space.${key}: give at least one value`);
    if (values.length > MAX_SWEEP_VALUES) throw badRequest(`space.${key}: ${values.length} values; a parameter may list at most ${MAX_SWEEP_VALUES}`);
    checked[key] = values.map((value, i) => {
      const parsed = sweepValueSchema.safeParse(value);
      if (!parsed.success) throw badRequest(`space.${key}.${i}: ${parsed.error.issues[0]!.message}`);
      return parsed.data;
    });
  }
  return checked;
}

/** Every combination of the space's values, in a stable order. Only for spaces already checked by checkSpace and spaceSize. */
export function gridPoints(space: Record<string, unknown[]>): Record<string, unknown>[] {
  const size = Object.values(space).reduce((n, values) => n * values.length, 1);
  return Array.from({ length: size }, (_, index) => pointAt(space, index));
}

/** The index-th point of the grid (the last parameter varies fastest), computed without listing the grid. */
function pointAt(space: Record<string, unknown[]>, index: number): Record<string, unknown> {
  const point: Record<string, unknown> = {};
  const entries = Object.entries(space);
  for (let k = entries.length - 1; k >= 0; k--) {
    const [key, values] = entries[k]!;
    point[key] = values[index % values.length];
    index = Math.floor(index / values.length);
  }
  return Object.fromEntries(entries.map(([key]) => [key, point[key]]));
}

/**
 * The number of points of a space: the product of its list lengths, checked before any point is made so a large
 * space is refused at once instead of being listed (which blocked the event loop, then ran out of memory).
 */
export function spaceSize(space: SweepSpace, strategy: (typeof SWEEP_STRATEGIES)[number]): number {
  const size = Object.values(space).reduce((n, values) => n * values.length, 1);
  const lengths = Object.values(space).map((values) => values.length).join(' x ');
  if (strategy === 'grid' && size > MAX_SWEEP_RUNS) {
    throw badRequest(`space has ${size} points (${lengths}); a grid sweep may queue at most ${MAX_SWEEP_RUNS} runs (use strategy random with samples)`);
  }
  if (size > MAX_SWEEP_SPACE) throw badRequest(`space has ${size} points (${lengths}); a random sweep draws from at most ${MAX_SWEEP_SPACE}`);
  return size;
}

export async function createSweep(deps: HubDeps, caller: Caller, input: CreateSweepInput): Promise<{ sweepId: string; runs: RunSummary[] }> {
  const project = await getProject(deps, input.project);
  const space = checkSpace(input.space);
  const size = spaceSize(space, input.strategy);
  const points =
    input.strategy === 'random'
      ? sampleIndices(size, input.samples ?? Math.min(8, size), Number(input.train?.seed ?? 42)).map((index) => pointAt(space, index))
      : gridPoints(space);
  if (points.length > MAX_SWEEP_RUNS) throw badRequest(`samples: ${points.length}; a sweep may queue at most ${MAX_SWEEP_RUNS} runs`);
  // Validate every point before queuing any, so a bad value queues nothing.
  const configs = points.map((point) => {
    const model = { ...input.model };
    const train = { ...input.train };
    for (const [key, value] of Object.entries(point)) (SWEEP_PARAMETERS[key as SweepParameter] === 'model' ? model : train)[key] = value;
    validateRunConfigs(project.labels.length, model, train);
    return { model, train };
  });
  const sweep = await sweeps.create(deps.db, { projectId: project.id, strategy: input.strategy, space, metric: input.metric, createdBy: caller.name });
  const queued: RunSummary[] = [];
  for (const config of configs) {
    queued.push(await createRun(deps, caller, { project: input.project, datasetVersion: input.datasetVersion, ...config, sweepId: sweep.id }));
  }
  return { sweepId: sweep.id, runs: queued };
}

/** `samples` distinct indices below `size`, drawn reproducibly for a seed (a partial Fisher-Yates shuffle, kept sparse). */
function sampleIndices(size: number, samples: number, seed: number): number[] {
  const swapped = new Map<number, number>();
  let state = seed >>> 0 || 1;
  const chosen: number[] = [];
  for (let i = 0; i < Math.min(samples, size); i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0; // LCG: reproducible draws for the same seed
    const j = i + (state % (size - i));
    chosen.push(swapped.get(j) ?? j);
    swapped.set(j, swapped.get(i) ?? i);
  }
  return chosen;
}

/** The best succeeded run of a sweep by `metric` (the sweep's own by default), with the ranking. */
export async function bestOfSweep(deps: HubDeps, input: { project: string; sweepId: string; metric?: RunMetric }) {
  const project = await getProject(deps, input.project);
  const sweep = await sweeps.findInProject(deps.db, project.id, input.sweepId);
  if (!sweep) throw notFound(`project "${input.project}" has no sweep ${input.sweepId}`);
  const metric = input.metric ?? (sweep.metric as RunMetric);
  if (!RUN_METRIC_NAMES.includes(metric)) throw badRequest(`metric must be one of: ${RUN_METRIC_NAMES.join(', ')}`);
  const { runs: all } = await listRuns(deps, { project: input.project, limit: MAX_SWEEP_RUNS, sweepId: sweep.id });
  const sign = RUN_METRICS[metric] === 'max' ? -1 : 1;
  const ranked = all.filter((r) => r.status === 'succeeded' && r.metrics[metric] !== undefined).sort((a, b) => sign * (a.metrics[metric]! - b.metrics[metric]!));
  const pending = all.filter((r) => r.status === 'queued' || r.status === 'running').length;
  return { metric, best: ranked[0] ?? null, ranking: ranked.map((r) => ({ runId: r.id, value: r.metrics[metric]!, train: r.train, model: r.model })), pending };
}

