/** The values a hyperparameter sweep tries, stored with the sweep (jsonb), drawn or not. */
import { z } from 'zod';
import { text } from './text';

/** A value a sweep parameter may take. */
export const sweepValueSchema = z.union([z.number(), z.boolean(), text(64)], {
  error: () => 'must be a finite number, a boolean or text of at most 64 characters (no NUL, no lone surrogates)',
});
export type SweepValue = z.infer<typeof sweepValueSchema>;

/** Sweep parameter -> the values it takes. */
export type SweepSpace = Record<string, SweepValue[]>;

/** Parameters a sweep may vary, and which config they belong to (the hub's sweeps and the admin's sweep form read this). */
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
/** Most runs one sweep may queue. */
export const MAX_SWEEP_RUNS = 64;
/** Most values one parameter may list. */
export const MAX_SWEEP_VALUES = 64;
