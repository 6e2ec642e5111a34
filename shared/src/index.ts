export * from './roles';
export * from './dataset';
export * from './preprocess';
export * from './model-manifest';
export * from './cdn-paths';
export * from './feedback';
export * from './text';
export * from './api-limits';
