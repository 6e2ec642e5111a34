/** Messages between the training coordinator and its replica threads. */
import type { BackendPreference, Evaluation, ModelConfig, ModelFormat, TrainConfig, TrainingProgress } from '@edgeloop/shared';
import type { SelectedBackend } from '../backends/select-backend';
import type { ModelArtifacts } from '../export/model-artifacts';
import type { InitialWeights } from '../models/initial-weights';
import type { TrainingData } from './training-data';

export interface ReplicaInit {
  index: number;
  count: number;
  model: ModelConfig;
  config: TrainConfig;
  backend: BackendPreference;
  data: TrainingData;
  /** Int32 slots: barrier + stop flags (see barrier.ts). */
  control: SharedArrayBuffer;
  /** Warm start: float32 weights set after the model is built, before the first step (every replica the same). */
  initialWeights?: InitialWeights;
}

export interface EpochMetrics {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss: number;
  valAccuracy: number;
  seconds: number;
  imagesPerSecond: number;
}

export type ReplicaMessage =
  | { type: 'ready'; paramCount: number; backend: SelectedBackend }
  | { type: 'progress'; progress: TrainingProgress }
  | { type: 'epoch'; metrics: EpochMetrics }
  | { type: 'log'; line: string }
  | {
      type: 'done';
      cancelled: boolean;
      evaluations?: Partial<Record<ModelFormat, Evaluation>>;
      artifacts?: Partial<Record<ModelFormat, ModelArtifacts>>;
    };

/** Sent to every replica once all are ready: gradients are exchanged through it. */
export interface ExchangeMessage {
  type: 'exchange';
  buffer: SharedArrayBuffer;
}
