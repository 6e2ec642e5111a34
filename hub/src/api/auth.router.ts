import { ROLES, roleSchema, text } from '@edgeloop/shared';
import { z } from 'zod';
import { MAX_TOKEN_PAGE, createToken, listTokenPage, revokeToken, tokenProjectsSchema } from '../auth/token.service';
import { signInHint } from '../auth/sign-in-hint';
import { noProject, procedureFor, publicProcedure, router } from './trpc';

export const authRouter = router({
  /** projects: the token's scope (slugs); null = every project. */
  whoami: procedureFor(noProject, ...ROLES).query(({ ctx }) => ({ name: ctx.caller.name, role: ctx.caller.role, projects: ctx.caller.projects })),
  /** Where the first admin token is (public: asked before anyone has a token); never an absolute server path. */
  signInHint: publicProcedure.query(({ ctx }) => {
    const { adminTokenFile, written, dataDirSetting, hint } = signInHint(ctx.deps.adminTokenFile, process.cwd());
    return { adminTokenFile, written, dataDirSetting, hint };
  }),
  /** projects: required for device, labeler and ci tokens, optional for engineer ones, refused for admin ones. */
  createToken: procedureFor('admin')
    .input(
      z.object({
        name: text(100).min(1, 'name must not be empty'),
        role: roleSchema,
        projects: tokenProjectsSchema.optional(),
      }),
    )
    .mutation(({ ctx, input }) => createToken(ctx.deps, { ...input, createdBy: ctx.caller.name })),
  /** One page of tokens, newest first: name, role, scope, creation, last use (to the minute), revocation; never a secret. */
  listTokens: procedureFor('admin')
    .input(
      z
        .object({
          status: z.enum(['all', 'active', 'revoked'], 'status must be one of all, active, revoked').default('all'),
          limit: z.number().int().min(1, 'limit must be at least 1').max(MAX_TOKEN_PAGE, `limit must be at most ${MAX_TOKEN_PAGE}`).default(25),
          offset: z.number().int().min(0, 'offset must be 0 or more').max(1_000_000, 'offset must be at most 1000000').default(0),
        })
        .default({ status: 'all', limit: 25, offset: 0 }),
    )
    .query(({ ctx, input }) => listTokenPage(ctx.deps, input)),
  revokeToken: procedureFor('admin')
    .input(z.object({ id: z.uuid('id must be a token id (uuid)') }))
    .mutation(({ ctx, input }) => revokeToken(ctx.deps, input.id)),
});
