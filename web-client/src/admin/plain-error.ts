/**
 * What the admin shows when a call fails: "<what> failed." and then the shared plain-words problem with what to do
 * next (../plain-error.ts: the hub's refusals in words, never a 500's text or a script exception).
 */
import { describeProblem } from '../plain-error';

/** A sentence for a person; `what` names the action as a noun phrase, e.g. "Commit" or "Loading the runs". */
export function plainError(error: unknown, what?: string): string {
  const { what: happened, next } = describeProblem(error);
  return `${what ? `${what} failed. ` : ''}${happened} ${next}`;
}
