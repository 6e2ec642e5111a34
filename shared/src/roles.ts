import { z } from 'zod';

/** Who may call what. Every hub procedure names the roles it allows. */
export const ROLES = ['admin', 'engineer', 'labeler', 'device', 'ci'] as const;
export const roleSchema = z.enum(ROLES, {
  error: () => `role must be one of: ${ROLES.join(', ')}`,
});
export type Role = z.infer<typeof roleSchema>;

/**
 * Roles whose tokens act within named projects only: each such token lists its project(s). Engineer tokens may
 * list projects too (none = every project); admin tokens always act on every project.
 */
export const PROJECT_SCOPED_ROLES = ['labeler', 'device', 'ci'] as const satisfies readonly Role[];
