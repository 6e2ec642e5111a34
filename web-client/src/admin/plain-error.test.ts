import { TRPCClientError } from '@trpc/client';
import { describe, expect, it } from 'vitest';
import { plainError } from './plain-error';

/** A refusal as the tRPC client builds it from the hub's error response. */
const refusal = (code: string, message: string) => TRPCClientError.from({ error: { message, code: -32600, data: { code, httpStatus: 400 } } });

describe("the admin's plainError", () => {
  it('names the action, then what happened and what to do next', () => {
    expect(plainError(refusal('BAD_REQUEST', 'epochs: must be at most 500'), 'Starting the run')).toBe(
      'Starting the run failed. The hub did not accept it: epochs: must be at most 500. Correct it and try again.',
    );
  });

  it("never shows a server failure's text, nor a script's exception", () => {
    const failed = plainError(refusal('INTERNAL_SERVER_ERROR', 'TypeError: cannot read properties of undefined'));
    expect(failed).not.toMatch(/TypeError/);
    expect(plainError(new TypeError('x is not a function'), 'Commit')).not.toMatch(/TypeError|not a function/);
  });
});
