import { ROLES, roleSchema, text } from '@edgeloop/shared';
import { z } from 'zod';
import { createToken, listTokens, revokeToken } from '../auth/token.service';
import { procedureFor, router } from './trpc';

export const authRouter = router({
  whoami: procedureFor(...ROLES).query(({ ctx }) => ({ name: ctx.caller.name, role: ctx.caller.role })),
  createToken: procedureFor('admin')
    .input(z.object({ name: text(100).min(1, 'name must not be empty'), role: roleSchema }))
    .mutation(({ ctx, input }) => createToken(ctx.deps, { ...input, createdBy: ctx.caller.name })),
  listTokens: procedureFor('admin').query(({ ctx }) => listTokens(ctx.deps)),
  revokeToken: procedureFor('admin')
    .input(z.object({ id: z.uuid('id must be a token id (uuid)') }))
    .mutation(({ ctx, input }) => revokeToken(ctx.deps, input.id)),
});
