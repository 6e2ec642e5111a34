/** One line for a zod error: each issue as `path: message` (the message alone at the root), joined with `; `. */
import type { z } from 'zod';

export function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}
