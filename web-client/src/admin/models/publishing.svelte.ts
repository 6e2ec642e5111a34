/**
 * Publishes in progress, kept outside any page: publishing runs in the hub's request (gating each encoding, writing
 * content-hashed shards, signing the manifest; a few hundred ms for a small CNN, seconds for a large one), and the
 * request goes on if a person moves to another page. Coming back to the run shows it still running, or what it made.
 */
import { SvelteMap } from 'svelte/reactivity';
import type { HubClient, RouterOutputs } from '../../hub-client';
import { plainError } from '../plain-error';

export type Published = RouterOutputs['registry']['publish'];

export interface Publishing {
  model: string;
  startedAt: number;
  /** Set when the hub answered. */
  result?: { published: Published } | { error: string };
}

/** Per run id: its latest publish started from this admin tab. */
export const publishing = new SvelteMap<string, Publishing>();

/** Publishes `runId` as the next version of `model`; a publish of the same run already running is not started twice. */
export async function publish(client: HubClient, runId: string, model: string): Promise<void> {
  const running = publishing.get(runId);
  if (running && !running.result) return;
  const entry: Publishing = { model, startedAt: Date.now() };
  publishing.set(runId, entry);
  try {
    const published = await client.registry.publish.mutate({ runId, model });
    publishing.set(runId, { ...entry, result: { published } });
  } catch (e) {
    publishing.set(runId, { ...entry, result: { error: plainError(e, 'Publishing') } });
  }
}
