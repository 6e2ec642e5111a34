import { z } from 'zod';

/** Input fields several routers share. */
export const projectInput = z.string().min(1, 'project must name a project slug');
export const versionInput = z
  .string()
  .regex(/^[0-9a-f]{8,64}$/, 'version must be a dataset version id or a prefix of at least 8 hex characters');
