/** Where and how a run ran, recorded with it (runs.lineage) so a model can be traced back and reproduced. */
import { z } from 'zod';

/** The machine and code a worker runs: the hub's machineLineage(). */
export const machineLineageSchema = z.object({
  /** HEAD of the checkout, `-dirty` when tracked files differ; null outside a git checkout. */
  gitCommit: z.string().nullable(),
  codeVersion: z.string(),
  tfjsVersion: z.string(),
  node: z.string(),
  worker: z.string(),
  host: z.string(),
  platform: z.string(),
  cpu: z.string(),
  memoryGiB: z.number().nonnegative(),
});
export type MachineLineage = z.infer<typeof machineLineageSchema>;

export const lineageSchema = machineLineageSchema.extend({
  datasetVersionId: z.string(),
  seed: z.number().int(),
  /** The backend that ran it (tensorflow, webgpu, wasm, cpu) and what ran it (package, adapter, threads). */
  backend: z.string(),
  backendDetail: z.string(),
  replicas: z.number().int().nonnegative(),
  seconds: z.number().nonnegative(),
  /** Who queued the run. */
  requestedBy: z.string(),
  /** 1 for the first try; a run retried after its worker was lost counts on. */
  attempt: z.number().int().positive(),
  /** Warm start: the run whose float32 weights it started from; null (or absent, in runs before warm starts) = a seeded initialisation. */
  initFromRun: z.string().nullable().optional(),
});
export type Lineage = z.infer<typeof lineageSchema>;
