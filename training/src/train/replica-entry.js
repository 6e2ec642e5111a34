// Worker threads start as plain Node: register tsx so the TypeScript replica loads without a build step.
import { register } from 'tsx/esm/api';

register();
await import('./replica.worker.ts');
