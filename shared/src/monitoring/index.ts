/**
 * Statistics for monitoring models in production: two-sample tests, divergences, calibration, label shift, label-free
 * accuracy, sequential detectors with thresholds calibrated by simulation, PCA and kernel MMD for embeddings; and the
 * engine composing them: a model version's reference profile (profile-builder.ts, thresholds jointly by simulation),
 * the per-stream monitor with its device cap and binary state (stream-monitor.ts), and the alert gates (alert-gate.ts).
 */
export * from './calibration';
export * from './divergence';
export * from './expected-accuracy';
export * from './label-estimates';
export * from './label-shift';
export * from './mmd';
export * from './null-simulation';
export * from './pca';
export * from './review-policy';
export * from './review-diversity';
export * from './sequential';
export * from './special-functions';
export * from './two-sample';
export * from './profile';
export * from './profile-arrays';
export * from './profile-builder';
export * from './monitor-snapshot';
export * from './stream-monitor';
export * from './alert-gate';
export * from './profile-runtime';
export * from './device-cap';
export * from './profile-data-source';
