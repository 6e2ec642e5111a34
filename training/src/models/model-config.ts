/** Model configs (schemas in @edgeloop/shared): validated with defaults, errors list the valid values. */
import { type ModelConfig, formatIssues, modelConfigSchema } from '@edgeloop/shared';

/** Parses a config, filling defaults; throws an Error whose message names each bad field and its valid values. */
export function validateModelConfig(input: unknown): ModelConfig {
  const parsed = modelConfigSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new Error(`invalid model config: ${formatIssues(parsed.error)}`);
}
