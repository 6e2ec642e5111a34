import { envelopeProblem } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import { hubKey } from '../test-support/hub-key';

describe('envelopes checked against the set of trusted keys', () => {
  const old = hubKey();
  const current = hubKey();

  it('verifies an envelope with the trusted key it names, old or current', async () => {
    const trusted = [current.trusted, old.trusted];
    expect(await envelopeProblem(trusted, old.sign('{"version":1}'))).toBeNull();
    expect(await envelopeProblem(trusted, current.sign('{"version":2}'))).toBeNull();
  });

  it('refuses an envelope signed by a key the hub no longer publishes, naming that key', async () => {
    const problem = await envelopeProblem([current.trusted], old.sign('{"version":1}'));
    expect(problem).toContain(`is signed by key ${old.trusted.keyId}, which the hub does not trust`);
    expect(problem).toContain(current.trusted.keyId);
  });

  it('refuses a tampered payload and a signature made by another key under a trusted id', async () => {
    const trusted = [current.trusted, old.trusted];
    const envelope = current.sign('{"version":2}');
    expect(await envelopeProblem(trusted, { ...envelope, payload: '{"version":9}' })).toBe(`has a signature that does not verify with key ${current.trusted.keyId}`);
    expect(await envelopeProblem(trusted, { ...old.sign('{"version":2}'), keyId: current.trusted.keyId })).toMatch(/does not verify/);
    expect(await envelopeProblem(trusted, { ...envelope, signature: 'not base64!' })).toMatch(/does not verify/);
  });
});
