/**
 * For tests of the monitoring engine: a small synthetic model (K = 6 Gaussian classes in d = 32, head 2.5× over-
 * confident), its reference profile built with reduced simulation sizes so a test file stays within a few seconds,
 * and event streams in device sessions.
 */
import { mulberry32 } from '../seeded-random';
import { buildReferenceProfile } from '../monitoring/profile-builder';
import type { ProfileInput, ProfileOptions, ReferenceProfile } from '../monitoring/profile';
import type { MonitorEvent } from '../monitoring/stream-monitor';
import { embeddingModel, headTop1, sampleEmbeddings, type EmbeddingModel, type SampleOptions } from './embedding-classes';

export const FIXTURE_LABELS = ['cat', 'dog', 'bird', 'fish', 'frog', 'horse'] as const;
export const FIXTURE_TEMPERATURE = 2.5;

/** Small simulation: enough for thresholds that hold, fast enough for a test file. */
export const FIXTURE_OPTIONS: Partial<ProfileOptions> = {
  pcaRank: 8,
  referenceSize: 300,
  simulationSize: 600,
  simulatedStreams: 800,
  validationStreams: 400,
  labelShiftEvents: 500,
};

export function fixtureModel(): EmbeddingModel {
  return embeddingModel({ k: FIXTURE_LABELS.length, d: 32, separation: 0.7, overconfidence: FIXTURE_TEMPERATURE, seed: 11 });
}

export function fixtureInput(model: EmbeddingModel, seed = 5, options: Partial<ProfileOptions> = FIXTURE_OPTIONS): ProfileInput {
  return {
    labels: FIXTURE_LABELS,
    embeddingSize: model.d,
    head: model.head,
    val: sampleEmbeddings(model, 600, 21),
    test: sampleEmbeddings(model, 900, 22),
    seed,
    options,
  };
}

export function fixtureProfile(model = fixtureModel()): ReferenceProfile {
  return buildReferenceProfile(fixtureInput(model));
}

export interface StreamOptions extends SampleOptions {
  /** Devices sending sessions (default 30); sessions last Geometric(mean `sessionLength`, default 3) events. */
  devices?: number;
  sessionLength?: number;
  /** One extra device sending this share of all events (in sessions of its own), e.g. 0.6. */
  heavyDeviceShare?: number;
  /** Draws the heavy device's events (default: like everyone else's). */
  heavyDevice?: SampleOptions;
}

/**
 * n events from the model as devices send them: each event's top-1 is the head's argmax. Deterministic in seed.
 */
export function fixtureEvents(model: EmbeddingModel, n: number, seed: number, options: StreamOptions = {}): MonitorEvent[] {
  const random = mulberry32(seed);
  const { embeddings } = sampleEmbeddings(model, n, seed + 1, options);
  const heavy = options.heavyDeviceShare ? sampleEmbeddings(model, n, seed + 2, options.heavyDevice ?? options).embeddings : null;
  const devices = options.devices ?? 30;
  const stop = 1 - 1 / (options.sessionLength ?? 3);
  const events: MonitorEvent[] = [];
  let device = 'device-0';
  for (let i = 0; i < n; i++) {
    if (i === 0 || random() > stop) device = `device-${Math.floor(random() * devices)}`;
    const fromHeavy = heavy !== null && random() < options.heavyDeviceShare!;
    const embedding = (fromHeavy ? heavy : embeddings).slice(i * model.d, (i + 1) * model.d);
    events.push({ embedding, predicted: headTop1(model, embedding), deviceKey: fromHeavy ? 'heavy-device' : device });
  }
  return events;
}
