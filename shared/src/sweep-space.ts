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
