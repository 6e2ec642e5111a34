import crypto from 'node:crypto';
import type { Role } from '@edgeloop/shared';
import { TRPCError, initTRPC } from '@trpc/server';
import { ZodError } from 'zod';
import type { Caller, HubDeps } from '../deps';
import { HubError } from '../errors';
import { bodyLimitFor, bodyTooLargeMessage } from './limits';

export interface Context {
  deps: HubDeps;
  /** null when the request carried no valid token. */
  caller: Caller | null;
}

/** Every procedure declares the roles allowed to call it; the role-matrix test reads this. */
export interface ProcedureMeta {
  roles: readonly Role[] | 'public';
}

const t = initTRPC
  .context<Context>()
  .meta<ProcedureMeta>()
  .create({
    errorFormatter({ shape, error, ctx, path }) {
      const zodError = error.cause instanceof ZodError ? error.cause : null;
      const { stack: _stack, ...data } = shape.data;
      const retryAfterSeconds = error.cause instanceof HubError ? error.cause.retryAfterSeconds : undefined;
      return {
        ...shape,
        // Stacks stay in the hub's log, never in responses. A readable "field: problem" line instead of the JSON dump tRPC puts in the message by default.
        message:
          error.code === 'INTERNAL_SERVER_ERROR'
            ? logInternal(ctx?.deps, path, error)
            : zodError
              ? describeZodError(zodError)
              : error.code === 'PAYLOAD_TOO_LARGE' && error.message === 'PAYLOAD_TOO_LARGE' // tRPC's own words when a streamed body passes the limit
                ? bodyTooLargeMessage(bodyLimitFor(path ? [path] : []))
                : shape.message,
        data: { ...data, fieldErrors: zodError ? fieldErrors(zodError) : null, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) },
      };
    },
  });

function describeZodError(error: ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || 'input'}: ${issue.message}`).join('; ');
}

function fieldErrors(error: ZodError): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const issue of error.issues) (out[issue.path.join('.') || 'input'] ??= []).push(issue.message);
  return out;
}

/**
 * An unexpected error's text (a failed query with its parameters, a driver message, a stack) goes to the hub's log
 * under a short id; the client gets only the id, which an operator can find in the log.
 */
function logInternal(deps: HubDeps | undefined, path: string | undefined, error: TRPCError): string {
  const id = crypto.randomBytes(4).toString('hex');
  const detail = `${path ?? 'request'} [${id}]: ${error.cause?.stack ?? error.stack ?? error.message}`;
  if (deps) deps.log.error(detail);
  else process.stderr.write(`${new Date().toISOString()} error ${detail}\n`);
  return `internal error (logged as ${id})`;
}

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Turns service errors into tRPC errors; anything unexpected stays a 500, logged and hidden by the error formatter. */
const mapErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) {
    const cause = result.error.cause;
    if (cause instanceof HubError) {
      throw new TRPCError({ code: cause.code, message: cause.message, cause });
    }
    if (cause instanceof ZodError) {
      throw new TRPCError({ code: 'BAD_REQUEST', message: describeZodError(cause), cause });
    }
  }
  return result;
});

export const publicProcedure = t.procedure.meta({ roles: 'public' }).use(mapErrors);

/** A procedure only the given roles may call. The check runs before input validation. */
export function procedureFor(...roles: Role[]) {
  return t.procedure
    .meta({ roles })
    .use(mapErrors)
    .use(({ ctx, next }) => {
      if (!ctx.caller) {
        throw new TRPCError({ code: 'UNAUTHORIZED', message: 'missing or invalid API token: send Authorization: Bearer <token>' });
      }
      if (!roles.includes(ctx.caller.role)) {
        throw new TRPCError({
          code: 'FORBIDDEN',
          message: `role "${ctx.caller.role}" may not call this; allowed roles: ${roles.join(', ')}`,
        });
      }
      return next({ ctx: { ...ctx, caller: ctx.caller } });
    });
}
