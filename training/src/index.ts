/**
 * @edgeloop/training's public API. The contracts it works with (model and train configs, evaluations, progress) are
 * imported from @edgeloop/shared, never through here.
 */
export * from './models/model-config';
export { setInitialWeights, type InitialWeights } from './models/initial-weights';
export { buildModel, logitsModel, EMBEDDING_LAYER } from './models/build-model';
export * from './backends/select-backend';
export * from './train/train-config';
export * from './train/training-data';
export * from './train/train';
export type { EpochMetrics } from './train/messages';
export * from './evaluate/metrics';
export * from './export/model-artifacts';
