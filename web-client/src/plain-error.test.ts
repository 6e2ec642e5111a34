/** Real refusals from a real hub over HTTP, and real network failures, as people read them. */
import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createTRPCClient, httpLink } from '@trpc/client';
import type { AppRouter } from '@edgeloop/hub/router';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestHub, createTestHub } from '../../hub/test/test-hub';
import { createHubServer, listen } from '../../hub/src/server';
import { freePort } from '../../hub/test/free-port';
import { describeProblem, plainError, rewordInputProblems } from './plain-error';

/** Nothing a person should read: schema wording, exception names, codes. */
const RAW = /expected \w+, received|Invalid input|TRPCClientError|TypeError|UNAUTHORIZED|FORBIDDEN|BAD_REQUEST|NOT_FOUND|Error:/;

describe('plainError with a real hub', () => {
  let hub: TestHub;
  let server: http.Server;
  let url: string;
  const webRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-plain-web-'));
  const client = (token: string, at = url) => createTRPCClient<AppRouter>({ links: [httpLink({ url: `${at}/trpc`, headers: { authorization: `Bearer ${token}` } })] });
  const failure = async (call: Promise<unknown>) => call.then(() => expect.unreachable('the call was refused'), (error: unknown) => error);

  beforeAll(async () => {
    hub = await createTestHub('pglite');
    await (await hub.as('admin')).projects.create({ slug: 'pets', labels: ['cat', 'dog'] });
    server = createHubServer(hub.deps, { webRoot });
    url = `http://127.0.0.1:${(await listen(server, 0, '127.0.0.1')).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await hub?.close();
    fs.rmSync(webRoot, { recursive: true, force: true });
  });

  it('says a refused token is not accepted and to get another', async () => {
    const problem = describeProblem(await failure(client('not-a-token').auth.whoami.query()));
    expect(problem.kind).toBe('token');
    expect(problem.what).toBe('The hub does not accept this token (it is mistyped, or was revoked).');
    expect(problem.next).toMatch(/valid token/);
  });

  it('says which role may do what a token may not', async () => {
    const text = plainError(await failure(client(await hub.secretFor('device')).auth.listTokens.query()));
    expect(text).toMatch(/^A device token may not do this \(it takes a token of: admin\)\. Ask the hub's admin/);
    expect(text).not.toMatch(RAW);
  });

  it('rewords the schema refusal the issue quotes: a missing number is "missing"', async () => {
    const admin = client(await hub.secretFor('admin'));
    const error = await failure(admin.projects.create.mutate({ slug: 'birds', labels: null as unknown as string[] }));
    const text = plainError(error, { action: 'create the project' });
    expect((error as Error).message).toMatch(/expected array, received null/); // what the hub said
    expect(text).toBe('Could not create the project: the hub did not accept it: labels is missing. Correct it and try again.');
  });

  it('keeps the hub\'s own words for what does not exist', async () => {
    const error = await failure(client(await hub.secretFor('admin')).projects.get.query({ project: 'no-such-project' }));
    const problem = describeProblem(error);
    expect(problem.kind).toBe('not-found');
    expect(problem.what).toContain('no-such-project');
    expect(problem.what).not.toMatch(RAW);
  });

  it('says the hub could not be reached when nothing answers', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const problem = describeProblem(await failure(client('x', closed).health.query()), { next: { network: 'It is sent later.' } });
    expect(problem).toEqual({ kind: 'network', what: 'The hub could not be reached (no network, or the hub is not running).', next: 'It is sent later.' });
  });
});

describe('plainError without a hub', () => {
  it('never shows a built-in exception, whatever its text', () => {
    for (const error of [new TypeError("Cannot read properties of undefined (reading 'top')"), new RangeError('Invalid array length'), new Error('TypeError: x is not a function'), { weird: true }, null]) {
      const text = plainError(error);
      expect(text).toBe('Something went wrong inside the app. Reload the page and try again; if it happens again, tell the hub\'s admin what you did.');
    }
  });

  it('keeps the app\'s own plain errors, saying what was being done', () => {
    expect(plainError(new Error('no model is loaded yet'), { action: 'classify this image' })).toBe('Could not classify this image: no model is loaded yet. Reload the page and try again; if it happens again, tell the hub\'s admin what you did.');
  });

  it('names the browser\'s refusals without their exception names', () => {
    expect(describeProblem(new DOMException('Permission denied', 'NotAllowedError')).kind).toBe('permission');
    expect(describeProblem(new DOMException('Requested device not found', 'NotFoundError')).what).toBe('No camera was found on this device.');
    expect(describeProblem(new DOMException('quota', 'QuotaExceededError')).kind).toBe('storage-full');
    expect(plainError(new DOMException('The source image cannot be decoded.', 'InvalidStateError'))).not.toMatch(/InvalidStateError|source image/);
  });

  it('rewords each of zod\'s messages and keeps the hub\'s own', () => {
    expect(rewordInputProblems('predictions.0.latencyMs: Invalid input: expected number, received null; name: name must not be empty')).toBe('latencyMs is missing; name: name must not be empty');
    expect(rewordInputProblems('limit: Too big: expected number to be <=500')).toBe('limit must be at most 500');
    expect(rewordInputProblems('role: Invalid option: expected one of "admin"|"device"')).toBe('role must be one of: admin, device');
    expect(rewordInputProblems('name: Too big: expected string to have <=100 characters')).toBe('name is too long (at most 100 characters)');
    expect(rewordInputProblems('version: Invalid input: expected int, received number')).toBe('version should be a whole number');
  });
});
