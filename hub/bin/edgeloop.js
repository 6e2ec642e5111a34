#!/usr/bin/env node
// The hub is TypeScript run through tsx, so the CLI needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
