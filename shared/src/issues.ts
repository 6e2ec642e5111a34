/**
 * One line for a zod error: each issue as `path: message`, joined with `; `. An issue at the root reads
 * `root: message` when `root` names what was parsed, else its message alone.
 */
import type { z } from 'zod';

export function formatIssues(error: z.ZodError, root?: string): string {
  return error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : root ? `${root}: ${i.message}` : i.message)).join('; ');
}
