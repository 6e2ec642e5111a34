import { projectSlugSchema } from '@edgeloop/shared';
import { z } from 'zod';

/** Input fields several routers share. A slug is checked before any query, so no malformed one reaches SQL. */
export const projectInput = projectSlugSchema;
export const versionInput = z
  .string()
  .regex(/^[0-9a-f]{8,64}$/, 'version must be a dataset version id or a prefix of at least 8 hex characters');
