/** Statistics for monitoring models in production: two-sample tests, divergences, calibration, label shift, label-free accuracy. */
export * from './calibration';
export * from './divergence';
export * from './expected-accuracy';
export * from './label-shift';
export * from './mmd';
export * from './pca';
export * from './special-functions';
export * from './two-sample';
