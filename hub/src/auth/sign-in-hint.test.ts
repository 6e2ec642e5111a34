import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestHub, createTestHub } from '../../test/test-hub';
import { appRouter } from '../api/app.router';
import { createCallerFactory } from '../api/trpc';
import { ADMIN_TOKEN_FILE, signInHint } from './sign-in-hint';

describe('signInHint', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-hint-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('names the token file relative to the working directory, as configured', () => {
    const cwd = path.join(tmp, 'checkout');
    const file = path.join(cwd, 'data', 'hub-a', ADMIN_TOKEN_FILE);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, 'secret\n');
    const hint = signInHint(file, cwd);
    expect(hint).toMatchObject({ adminTokenFile: 'data/hub-a/admin-token', written: true, dataDirSetting: 'HUB_DATA_DIR' });
    expect(hint.hint).toContain('data/hub-a/admin-token');
    expect(hint.hint).not.toContain(tmp);
  });

  it('never tells an absolute path: a data directory outside the working directory is named by its setting', () => {
    const outside = path.join(tmp, 'elsewhere', ADMIN_TOKEN_FILE);
    fs.mkdirSync(path.dirname(outside), { recursive: true });
    fs.writeFileSync(outside, 'secret\n');
    const hint = signInHint(outside, path.join(tmp, 'checkout'));
    expect(hint.adminTokenFile).toBeNull();
    expect(hint.written).toBe(true);
    expect(hint.hint).toContain('HUB_DATA_DIR');
    expect(hint.hint).not.toContain(tmp);
  });

  it('says how to make an admin token when the file is gone', () => {
    const hint = signInHint(path.join(tmp, 'checkout', 'gone', ADMIN_TOKEN_FILE), path.join(tmp, 'checkout'));
    expect(hint).toMatchObject({ adminTokenFile: 'gone/admin-token', written: false });
    expect(hint.hint).toContain('edgeloop token create --role admin');
  });
});

describe('auth.signInHint', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await createTestHub('pglite');
  });
  afterAll(() => hub.close());
  const anonymous = (adminTokenFile: string | undefined) => createCallerFactory(appRouter)({ deps: { ...hub.deps, adminTokenFile }, caller: null });

  it('answers without a token, relative to the hub\'s working directory', async () => {
    const answer = await anonymous(path.join(process.cwd(), 'no-such-data-dir', ADMIN_TOKEN_FILE)).auth.signInHint();
    expect(answer).toEqual({ adminTokenFile: 'no-such-data-dir/admin-token', written: false, dataDirSetting: 'HUB_DATA_DIR', hint: expect.stringContaining('no-such-data-dir/admin-token') });
  });

  it('keeps a data directory elsewhere to its setting', async () => {
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeloop-hint-data-'));
    try {
      fs.writeFileSync(path.join(elsewhere, ADMIN_TOKEN_FILE), 'secret\n');
      const answer = await anonymous(path.join(elsewhere, ADMIN_TOKEN_FILE)).auth.signInHint();
      expect(answer.adminTokenFile).toBeNull();
      expect(answer.written).toBe(true);
      expect(JSON.stringify(answer)).not.toContain(elsewhere);
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});
