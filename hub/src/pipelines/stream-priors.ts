/**
 * The class mix a model's devices see now: the monitor's EM label-shift estimate on the stream of (model version,
 * channel), from its latest snapshot. The evaluation reweights the test split to it; a prior-corrected challenger is
 * trained for it.
 */
import type { HubDeps } from '../deps';
import { latestSnapshot } from '../monitoring/stream-period.service';

export interface StreamPriors {
  /** One share per label, summing to 1. */
  priors: number[];
  /** Events the estimate is based on. */
  events: number;
}

/** The estimate, or null while the stream has none (no events yet, or none processed). */
export async function streamPriors(deps: HubDeps, stream: { projectId: string; model: string; version: number; channel: string }): Promise<StreamPriors | null> {
  const snapshot = await latestSnapshot(deps, stream);
  const em = snapshot?.labelShift.em ?? null;
  if (!em) return null;
  const total = em.reduce((a, b) => a + b, 0);
  return { priors: em.map((q) => q / total), events: snapshot!.labelShift.events };
}
