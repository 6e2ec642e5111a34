export * from './roles';
export * from './dataset';
