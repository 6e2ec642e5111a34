import crypto from 'node:crypto';
import type { Role } from '@edgeloop/shared';
import { TRPCError, initTRPC } from '@trpc/server';
import { ZodError } from 'zod';
import { isProjectScopedRole } from '../auth/token.service';
import type { Caller, HubDeps } from '../deps';
import { HubError } from '../errors';
import { trpcDuration, trpcRequests } from '../metrics';
import { bodyLimitFor, bodyTooLargeMessage } from './limits';

export interface Context {
  deps: HubDeps;
  /** null when the request carried no valid token. */
  caller: Caller | null;
  /** The body limit this HTTP request is read under (a batch's is the largest of its calls'); absent without HTTP. */
  bodyLimit?: number;
}

/**
 * How the scope check finds the project a call acts on. Every procedure has one (procedureFor defaults to
 * the `project` field), and the role x project matrix test checks each against the procedure's input.
 * - input: the raw input's `field` is the project's slug;
 * - lookup: the raw input's `field` is an id (a run, an upload) and `lookup` gives its project's slug, or null when
 *   there is no such thing (answered like any other project: the caller cannot tell);
 * - none: the call names no project and the procedure itself limits its answer to `ctx.caller.projects`.
 */
export type ProjectSource =
  | { kind: 'input'; field: string }
  | { kind: 'lookup'; field: string; lookup: (deps: HubDeps, id: string) => Promise<string | null> }
  | { kind: 'none' };

export const projectIn = (field = 'project'): ProjectSource => ({ kind: 'input', field });
export const projectOf = (field: string, lookup: (deps: HubDeps, id: string) => Promise<string | null>): ProjectSource => ({ kind: 'lookup', field, lookup });
export const noProject: ProjectSource = { kind: 'none' };

/** Every procedure declares the roles allowed to call it and where its project is found; the role-matrix test reads this. */
export interface ProcedureMeta {
  roles: readonly Role[] | 'public';
  /** Absent on public procedures only. */
  project?: ProjectSource;
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
                ? bodyTooLargeMessage(ctx?.bodyLimit ?? bodyLimitFor(path ? [path] : []))
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
export function logInternal(deps: HubDeps | undefined, path: string | undefined, error: Error): string {
  const id = crypto.randomBytes(4).toString('hex');
  const cause = error.cause instanceof Error ? error.cause : undefined;
  const detail = `${path ?? 'request'} [${id}]: ${cause?.stack ?? error.stack ?? error.message}`;
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

/** edgeloop_trpc_requests_total and _duration_seconds per procedure; outside mapErrors, so it sees the code the client gets. */
const measure = t.middleware(async ({ path, next }) => {
  const end = trpcDuration.startTimer({ procedure: path });
  const result = await next();
  end();
  trpcRequests.inc({ procedure: path, code: result.ok ? 'OK' : result.error.code });
  return result;
});

export const publicProcedure = t.procedure.meta({ roles: 'public' }).use(measure).use(mapErrors);

/**
 * A procedure only the given roles may call, on the projects their token is scoped to. Both checks run before
 * input validation. The project is read from the raw input's `project` field unless a source is given first:
 * `procedureFor(projectOf('runId', projectOfRun), 'admin', 'engineer')`.
 */
export function procedureFor(...roles: Role[]): ReturnType<typeof authorisedProcedure>;
export function procedureFor(project: ProjectSource, ...roles: Role[]): ReturnType<typeof authorisedProcedure>;
export function procedureFor(...args: (ProjectSource | Role)[]) {
  const [first, ...rest] = args;
  return typeof first === 'object' ? authorisedProcedure(first, rest as Role[]) : authorisedProcedure(projectIn(), args as Role[]);
}

function authorisedProcedure(project: ProjectSource, roles: Role[]) {
  return t.procedure
    .meta({ roles, project })
    .use(measure)
    .use(mapErrors)
    .use(async ({ ctx, next, getRawInput }) => {
      assertRole(ctx.caller, roles);
      await assertProjectInScope(ctx.deps, ctx.caller, project, getRawInput);
      return next({ ctx: { ...ctx, caller: ctx.caller } });
    });
}

/** Refuses a request without a valid token (UNAUTHORIZED) or of a role not in `roles` (FORBIDDEN); HTTP routes outside tRPC use it too. */
export function assertRole(caller: Caller | null, roles: readonly Role[]): asserts caller is Caller {
  if (!caller) {
    throw new TRPCError({ code: 'UNAUTHORIZED', message: 'missing or invalid API token: send Authorization: Bearer <token>' });
  }
  if (!roles.includes(caller.role)) {
    throw new TRPCError({
      code: 'FORBIDDEN',
      message: `role "${caller.role}" may not call this; allowed roles: ${roles.join(', ')}`,
    });
  }
}

/**
 * Refuses a call on a project outside the caller's scope with FORBIDDEN (not NOT_FOUND: the token is what is wrong,
 * and a client must not retry). The answer depends on the scope alone, decided before any project is looked up, so it
 * is the same whether the other project exists or not; an id that resolves to no project is refused the same way.
 * The raw value is what is checked, so the input schema must take that field as it comes (no transform).
 */
export async function assertProjectInScope(deps: HubDeps, caller: Caller, source: ProjectSource, getRawInput: () => Promise<unknown>): Promise<void> {
  if (caller.projects === null) {
    // Tokens from before scopes have none; for these roles that would mean every project, so they are refused instead.
    if (isProjectScopedRole(caller.role)) {
      throw new TRPCError({
        code: 'FORBIDDEN',
        message: `this ${caller.role} token has no project scope (it was made before tokens had projects); create a new one with its project(s) and revoke this one`,
      });
    }
    return;
  }
  if (source.kind === 'none') return;
  const raw = await getRawInput();
  const value = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>)[source.field] : undefined;
  if (typeof value !== 'string' || value === '') {
    throw new TRPCError({ code: 'BAD_REQUEST', message: `${source.field}: required (this token acts in named projects only)` });
  }
  const slug = source.kind === 'lookup' ? await source.lookup(deps, value) : value;
  if (slug !== null && caller.projects.includes(slug)) return;
  const scope = caller.projects.length > 0 ? `project(s) ${caller.projects.join(', ')} only` : 'no project any more (its projects were deleted)';
  const asked = source.kind === 'lookup' ? `${source.field} ${JSON.stringify(value.slice(0, 80))} is not in them` : `it may not act on ${JSON.stringify(value.slice(0, 80))}`;
  throw new TRPCError({ code: 'FORBIDDEN', message: `this token acts in ${scope}; ${asked}` });
}
