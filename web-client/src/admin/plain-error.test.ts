import { TRPCClientError } from '@trpc/client';
import { describe, expect, it } from 'vitest';
import { plainError } from './plain-error';

/** A refusal as the tRPC client builds it from the hub's error response. */
const refusal = (code: string, message: string) => TRPCClientError.from({ error: { message, code: -32600, data: { code, httpStatus: 400 } } });

describe('plainError', () => {
  it("keeps the hub's words for bad input, as a sentence", () => {
    expect(plainError(refusal('BAD_REQUEST', 'epochs: must be at most 500'), 'Training')).toBe('Training failed. Epochs: must be at most 500.');
  });

  it('adds what to do next to a refused token or role', () => {
    expect(plainError(refusal('UNAUTHORIZED', 'missing or invalid API token: send Authorization: Bearer <token>'))).toMatch(/^Missing or invalid API token.*Sign in with a valid token/);
    expect(plainError(refusal('FORBIDDEN', 'role "labeler" may not call this; allowed roles: admin, engineer'))).toMatch(/allowed roles: admin, engineer\. Ask an admin/);
  });

  it("never shows a server failure's text, nor a script's exception", () => {
    const failed = plainError(refusal('INTERNAL_SERVER_ERROR', 'TypeError: cannot read properties of undefined'));
    expect(failed).toMatch(/^The hub failed on its side/);
    expect(failed).not.toMatch(/TypeError/);
    expect(plainError(new TypeError('x is not a function'))).toBe('Something went wrong in this page. Reload it and try again.');
  });

  it('says when the hub did not answer at all', () => {
    expect(plainError(TRPCClientError.from(new TypeError('Failed to fetch')))).toMatch(/^The hub did not answer/);
  });
});
