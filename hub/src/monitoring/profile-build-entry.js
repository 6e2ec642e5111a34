// Worker threads start as plain Node: register tsx so the TypeScript builder loads without a build step.
import { register } from 'tsx/esm/api';

register();
await import('./profile-build.worker.ts');
