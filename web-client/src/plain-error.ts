/**
 * Errors as people read them, for the PWA and the admin alike: what happened, in plain words, and what to do next.
 * Never a raw exception name ("TypeError"), a stack, or a schema's wording ("expected number, received null"): the
 * hub's refusals (tRPC codes, see hubCode), network failures, the browser's DOMExceptions (camera, storage, decoding)
 * and the app's own errors each become two sentences. The hub's own refusal messages are written for people (they
 * name the field and the valid values) and are kept; zod's are reworded.
 */
import { TRPCClientError } from '@trpc/client';

/** What kind of problem it is: a caller may put its own next step per kind (plainError's `next`). */
export type ProblemKind =
  | 'token' // the hub does not accept the token (401)
  | 'forbidden' // the token may not do this (403)
  | 'not-found'
  | 'invalid' // the hub refused the input (400)
  | 'conflict' // the state changed meanwhile (409, 412)
  | 'too-large'
  | 'busy' // rate limited (429)
  | 'hub-failed' // the hub's own fault (5xx)
  | 'network' // no answer from the hub
  | 'permission' // the browser refused a permission (camera)
  | 'no-device' // no camera
  | 'device-busy' // the camera is used by another app
  | 'storage-full'
  | 'stopped' // aborted
  | 'unreadable' // an image or file the browser cannot decode
  | 'app'; // anything else: the app's own error

export interface PlainProblem {
  kind: ProblemKind;
  /** What happened, as a sentence. */
  what: string;
  /** What to do next, as a sentence. */
  next: string;
}

export interface ProblemContext {
  /** What was being done, as a verb phrase ("classify this image"): the sentence starts "Could not classify this image: ...". */
  action?: string;
  /** A next step of the caller's own, per kind, instead of the generic one. */
  next?: Partial<Record<ProblemKind, string>>;
}

const GENERIC_NEXT: Record<ProblemKind, string> = {
  token: 'Sign in again with a valid token (ask the hub\'s admin for a new one).',
  forbidden: 'Ask the hub\'s admin for a token with the right role or project.',
  'not-found': 'Check the name and try again.',
  invalid: 'Correct it and try again.',
  conflict: 'Reload to see the current state, then try again.',
  'too-large': 'Send less at once, or smaller files.',
  busy: 'Wait a moment and try again.',
  'hub-failed': 'Try again in a moment; if it keeps happening, tell the hub\'s admin.',
  network: 'Check the connection (or whether the hub is running) and try again.',
  permission: 'Allow it in the browser\'s settings for this site, then try again.',
  'no-device': 'Connect a camera, or choose an image file instead.',
  'device-busy': 'Close the other app or tab using it, then try again.',
  'storage-full': 'Free some space on this device (or clear old data of this site), then try again.',
  stopped: 'Try again.',
  unreadable: 'Use a PNG, JPEG, WebP or GIF image.',
  app: 'Reload the page and try again; if it happens again, tell the hub\'s admin what you did.',
};

/** The problem as one text: what happened, then what to do next. */
export function plainError(error: unknown, context: ProblemContext = {}): string {
  const { what, next } = describeProblem(error, context);
  return `${what} ${next}`;
}

/** The problem in its parts (for a view that shows the next step apart, e.g. as a link). */
export function describeProblem(error: unknown, context: ProblemContext = {}): PlainProblem {
  const { kind, reason } = classify(error);
  const what = sentence(context.action ? `Could not ${context.action}: ${lowerFirst(reason)}` : reason);
  return { kind, what, next: context.next?.[kind] ?? GENERIC_NEXT[kind] };
}

/** The hub's tRPC code of an error (undefined when no answer came); the same as hub-client's hubCode. */
function codeOf(error: unknown): string | undefined {
  return error instanceof TRPCClientError ? (error.data as { code?: string } | undefined)?.code : undefined;
}

function classify(error: unknown): { kind: ProblemKind; reason: string } {
  const code = codeOf(error);
  if (code) return fromHub(code, (error as TRPCClientError<never>).message, (error as TRPCClientError<never>).data as { retryAfterSeconds?: number } | undefined);
  if (error instanceof TRPCClientError || isNetworkFailure(error)) return { kind: 'network', reason: 'the hub could not be reached (no network, or the hub is not running)' };
  if (isDomException(error)) return fromDomException(error);
  if (typeof error === 'string' && error.trim()) return { kind: 'app', reason: error.trim() };
  // The app's own errors are plain `Error`s written for people; the built-in kinds (TypeError, RangeError...) are bugs.
  if (error instanceof Error && error.name === 'Error' && error.message.trim() && !looksTechnical(error.message)) return { kind: 'app', reason: error.message.trim() };
  return { kind: 'app', reason: 'something went wrong inside the app' };
}

function fromHub(code: string, message: string, data: { retryAfterSeconds?: number } | undefined): { kind: ProblemKind; reason: string } {
  switch (code) {
    case 'UNAUTHORIZED':
      return { kind: 'token', reason: 'the hub does not accept this token (it is mistyped, or was revoked)' };
    case 'FORBIDDEN':
      return { kind: 'forbidden', reason: forbiddenReason(message) };
    case 'NOT_FOUND':
      return { kind: 'not-found', reason: message || 'the hub has no such thing' };
    case 'BAD_REQUEST':
      return { kind: 'invalid', reason: `the hub did not accept it: ${rewordInputProblems(message)}` };
    case 'CONFLICT':
    case 'PRECONDITION_FAILED':
      return { kind: 'conflict', reason: message || 'it changed meanwhile' };
    case 'PAYLOAD_TOO_LARGE':
      return { kind: 'too-large', reason: message || 'it is more than the hub takes at once' };
    case 'TOO_MANY_REQUESTS': {
      const wait = data?.retryAfterSeconds;
      return { kind: 'busy', reason: `the hub is busy${wait ? ` (it asks to wait ${Math.ceil(wait)} s)` : ''}` };
    }
    case 'INTERNAL_SERVER_ERROR': {
      const logged = /logged as (\w+)/.exec(message)?.[1];
      return { kind: 'hub-failed', reason: `the hub ran into a problem of its own${logged ? ` (its log has it as ${logged})` : ''}` };
    }
    default:
      return { kind: 'hub-failed', reason: 'the hub could not do it now' };
  }
}

/** The hub's role refusal ('role "device" may not call this; allowed roles: admin, engineer') in words; scope refusals are plain already. */
function forbiddenReason(message: string): string {
  const role = /^role "(\w+)" may not call this; allowed roles: (.+)$/.exec(message);
  if (role) return `a ${role[1]} token may not do this (it takes a token of: ${role[2]})`;
  return message || 'this token may not do this';
}

const NOUNS: Record<string, string> = { number: 'a number', int: 'a whole number', string: 'text', boolean: 'yes or no', array: 'a list', object: 'a group of fields', date: 'a date' };

/**
 * The hub's input refusals ("field: problem; field: problem", see describeZodError in the hub) with zod's wording
 * replaced: "latencyMs: Invalid input: expected number, received null" -> "latencyMs is missing". Messages the hub
 * wrote itself ("name must not be empty") stay as they are.
 */
export function rewordInputProblems(message: string): string {
  return message
    .split('; ')
    .map((part) => {
      const match = /^([\w.]+): (.*)$/s.exec(part);
      if (!match) return rewordIssue(part);
      const [, path, issue] = match as unknown as [string, string, string];
      const field = path.split('.').filter((segment) => !/^\d+$/.test(segment)).pop() ?? path;
      const reworded = rewordIssue(issue);
      return reworded === issue ? `${field}: ${issue}` : `${field === 'input' ? 'the input' : field} ${reworded}`;
    })
    .join('; ');
}

function rewordIssue(issue: string): string {
  let m: RegExpExecArray | null;
  if ((m = /expected (\w+), received (?:null|undefined)$/.exec(issue))) return 'is missing';
  if ((m = /expected (\w+), received \w+$/.exec(issue))) return `should be ${NOUNS[m[1]!] ?? m[1]}`;
  if ((m = /^Too big: expected (\w+) to have <=?(\d+) (\w+)$/.exec(issue))) return `is too long (at most ${m[2]} ${m[3]})`;
  if ((m = /^Too small: expected (\w+) to have >=?(\d+) (\w+)$/.exec(issue))) return `is too short (at least ${m[2]} ${m[3]})`;
  if ((m = /^Too big: expected \w+ to be <=?(\S+)$/.exec(issue))) return `must be at most ${m[1]}`;
  if ((m = /^Too small: expected \w+ to be >=?(\S+)$/.exec(issue))) return `must be at least ${m[1]}`;
  if ((m = /^Invalid option: expected one of (.+)$/.exec(issue))) return `must be one of: ${m[1]!.replaceAll('"', '').split('|').join(', ')}`;
  if ((m = /^Invalid input: expected "(.*)"$/.exec(issue))) return `must be "${m[1]}"`;
  if ((m = /^Invalid (UUID|URL|email|ISO datetime|date)/i.exec(issue))) return `is not a valid ${m[1]}`;
  return issue;
}

/** fetch's rejections: "Failed to fetch" (Chromium), "NetworkError when attempting to fetch resource." (Firefox), "Load failed" (Safari), "fetch failed" (Node). */
function isNetworkFailure(error: unknown): boolean {
  return error instanceof TypeError && /failed to fetch|networkerror|load failed|fetch failed|network request failed/i.test(error.message);
}

function isDomException(error: unknown): error is DOMException {
  return typeof DOMException !== 'undefined' && error instanceof DOMException;
}

function fromDomException(error: DOMException): { kind: ProblemKind; reason: string } {
  switch (error.name) {
    case 'NotAllowedError':
      return { kind: 'permission', reason: 'the browser was not allowed to do this (permission refused)' };
    case 'NotFoundError':
    case 'OverconstrainedError':
      return { kind: 'no-device', reason: 'no camera was found on this device' };
    case 'NotReadableError':
      return { kind: 'device-busy', reason: 'the camera is in use by another app, or could not be started' };
    case 'SecurityError':
      return { kind: 'permission', reason: 'the browser blocks this on an insecure page (it needs https)' };
    case 'QuotaExceededError':
      return { kind: 'storage-full', reason: 'this device\'s storage for the app is full' };
    case 'AbortError':
      return { kind: 'stopped', reason: 'it was stopped before it finished' };
    case 'EncodingError':
    case 'InvalidStateError':
      return { kind: 'unreadable', reason: 'the browser could not decode this image' };
    default:
      return { kind: 'app', reason: 'the browser could not do this' };
  }
}

/** Text no person should be shown: exception names, JSON, stack frames, property access. */
function looksTechnical(message: string): boolean {
  return /\b[A-Z][a-zA-Z]*(Error|Exception)\b|^\s*[{[]|\bat \S+ \(|Cannot read propert|is not a function|undefined|\bnull\b|received null|expected \w+, received/.test(message);
}

function sentence(text: string): string {
  const trimmed = text.trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

const lowerFirst = (text: string) => (/^[A-Z][a-z]/.test(text) ? text.charAt(0).toLowerCase() + text.slice(1) : text);
