/**
 * What the admin shows when a call fails: the hub's refusal in plain words with what to do next, never a raw
 * exception name or stack. The hub's own messages for bad input already name the field and the valid values
 * ("epochs: must be at most 500"), so those are shown as they are.
 */
import { TRPCClientError } from '@trpc/client';
import { hubCode } from '../hub-client';

/** What to do next, per refusal; the hub's own words come first where they are written for people. */
const NEXT_STEP: Record<string, string> = {
  UNAUTHORIZED: 'Sign in with a valid token (an admin can create one under Devices & tokens).',
  FORBIDDEN: 'Ask an admin for a token with that role or project.',
  NOT_FOUND: 'The link may be out of date: go back and reload the list.',
  TOO_MANY_REQUESTS: 'Wait a few seconds and try again.',
  PAYLOAD_TOO_LARGE: 'Send less at once.',
};
const HUB_FAILED = 'The hub failed on its side (its log has the details). Try again; if it keeps failing, tell whoever runs the hub.';
/** Refusals whose message the hub writes for people (field and valid values, role and scope); a 500's is never shown. */
const SPOKEN = new Set(['BAD_REQUEST', 'CONFLICT', 'PRECONDITION_FAILED', 'UNAUTHORIZED', 'FORBIDDEN', 'NOT_FOUND', 'TOO_MANY_REQUESTS', 'PAYLOAD_TOO_LARGE']);

/** A sentence for a person: what went wrong and what to do next. `what` names the action, e.g. "Commit". */
export function plainError(error: unknown, what?: string): string {
  const prefix = what ? `${what} failed. ` : '';
  if (!(error instanceof TRPCClientError)) {
    return `${prefix}Something went wrong in this page. Reload it and try again.`;
  }
  const code = hubCode(error);
  if (code === undefined) return `${prefix}The hub did not answer. Check your connection and that the hub is running, then try again.`;
  if (!SPOKEN.has(code)) return `${prefix}${HUB_FAILED}`;
  const next = NEXT_STEP[code];
  return `${prefix}${sentence(error.message)}${next ? ` ${next}` : ''}`;
}

/** The hub's refusal as a sentence: capitalised, ending in a full stop. */
const sentence = (text: string): string => {
  const trimmed = text.trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?)]$/.test(capital) ? capital : `${capital}.`;
};
