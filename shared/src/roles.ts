import { z } from 'zod';

/** Who may call what. Every hub procedure names the roles it allows. */
export const ROLES = ['admin', 'engineer', 'labeler', 'device', 'ci'] as const;
export const roleSchema = z.enum(ROLES, {
  error: () => `role must be one of: ${ROLES.join(', ')}`,
});
export type Role = z.infer<typeof roleSchema>;
