import { HUB_ENV_VARIABLES } from '../src/env';

/**
 * The environment of a hub, worker or CLI child process in a test: this process's, without any hub setting of its own
 * (a developer's or CI's MIGRATE_ON_START, S3_* ... must not leak in), plus `settings`.
 */
export function childEnv(settings: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of HUB_ENV_VARIABLES) delete env[name];
  return { ...env, ...settings };
}
