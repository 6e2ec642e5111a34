import { AsyncLocalStorage } from 'node:async_hooks';
import crypto from 'node:crypto';
import { pino } from 'pino';
import pinoPretty from 'pino-pretty';

const LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LEVELS)[number];

export const LOG_FORMATS = ['json', 'pretty'] as const;
/** json: one JSON object a line, for machines; pretty: readable lines, for people in development. */
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Extra fields of a line: numbers, names, ids. Never tokens, secrets or URL queries (a query may hold a token). */
export type LogFields = Record<string, string | number | boolean | null | undefined | readonly string[]>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export interface LoggerOptions {
  /** Default: pretty when stderr is a terminal, json otherwise. */
  format?: LogFormat;
  /** Where lines go; default stderr, so stdout stays free for command output. */
  destination?: { write(line: string): unknown };
}

/**
 * The request being handled, kept across awaits (AsyncLocalStorage): every line any logger writes while handling it
 * carries its `requestId`, whichever service writes it through `deps.log`.
 */
const requestContext = new AsyncLocalStorage<{ requestId: string }>();

/** Runs `handle` as the request `requestId`: the lines written meanwhile carry the id. */
export function withRequestId<T>(requestId: string, handle: () => T): T {
  return requestContext.run({ requestId }, handle);
}

/** The id of the request being handled, or undefined outside one. */
export function currentRequestId(): string | undefined {
  return requestContext.getStore()?.requestId;
}

const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** A caller's `x-request-id` when it is sane (at most 64 of [A-Za-z0-9._-]); otherwise a new random one. */
export function requestIdFrom(header: string | string[] | undefined): string {
  const incoming = Array.isArray(header) ? header[0] : header;
  return incoming !== undefined && SANE_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
}

/** pino-backed lines on stderr: JSON for machines, or readable lines (pino-pretty, formatted in-thread, no worker). */
export function createLogger(level: LogLevel, options: LoggerOptions = {}): Logger {
  const format = options.format ?? (process.stderr.isTTY ? 'pretty' : 'json');
  const out = options.destination ?? process.stderr;
  const destination =
    format === 'pretty'
      ? prettyDestination(out, out === process.stderr && Boolean(process.stderr.isTTY))
      : out === process.stderr
        ? pino.destination({ fd: 2, sync: true })
        : out;
  const root = pino(
    {
      level,
      base: undefined, // no pid/hostname on every line; the platform adds where a line came from
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // The request id rides on every line written inside a request, as on a child logger's.
      mixin: () => {
        const requestId = currentRequestId();
        return requestId ? { requestId } : {};
      },
    },
    destination,
  );
  const at = (lineLevel: Exclude<LogLevel, 'silent'>) => (message: string, fields?: LogFields) => {
    if (fields) root[lineLevel](fields, message);
    else root[lineLevel](message);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** pino-pretty's formatter called on each JSON line as it is written: synchronous, so no line is lost at exit. */
function prettyDestination(out: { write(line: string): unknown }, colorize: boolean): { write(line: string): void } {
  const prettify = pinoPretty.prettyFactory({ colorize, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true });
  return { write: (line: string) => void out.write(prettify(line)) };
}
