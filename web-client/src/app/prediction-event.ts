/** What one classification sends to the hub: the prediction event, made from the model that ran and its output. */
import type { PredictionEvent, PredictionSource } from '@edgeloop/shared';
import type { ClassifyResult } from './inference-protocol';
import type { ChannelRef } from './model-store';

/** Classes a prediction lists, best first. */
export const TOP_K = 5;

export interface PredictionContext {
  /** The channel the model came from (not the one set now: a newer setting may not have loaded yet). */
  ref: ChannelRef;
  version: number;
  /** The model's labels, in its output order. */
  labels: readonly string[];
  /** This installation's id, when the device's database could give one. */
  deviceId: string | undefined;
  appVersion: string;
}

export function predictionEvent(model: PredictionContext, result: ClassifyResult, source: PredictionSource, made: { id: string; at: Date }): PredictionEvent {
  const top = result.probabilities
    .map((probability, i) => ({ label: model.labels[i]!, probability }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, TOP_K);
  return {
    id: made.id,
    model: model.ref.model,
    version: model.version,
    backend: result.backend,
    latencyMs: result.latencyMs,
    top,
    embedding: result.embedding,
    source,
    createdAt: made.at.toISOString(),
    channel: model.ref.channel,
    appVersion: model.appVersion,
    ...(model.deviceId ? { deviceId: model.deviceId } : {}),
  };
}
