import { ROLES, type Role } from '@edgeloop/shared';
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestHub, createTestHub } from '../../test/test-hub';
import { authenticate } from '../auth/token.service';
import { appRouter } from './app.router';
import type { ProcedureMeta } from './trpc';

type AnyProcedure = { _def: { meta?: ProcedureMeta } };
const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, AnyProcedure>);
const PUBLIC_PROCEDURES = ['health', 'registry.publicKey', 'registry.publicKeys'];

async function callPath(caller: unknown, path: string): Promise<unknown> {
  const fn = path.split('.').reduce<any>((node, key) => node[key], caller);
  return fn({});
}

async function errorCode(call: Promise<unknown>): Promise<string | null> {
  try {
    await call;
    return null;
  } catch (error) {
    if (error instanceof TRPCError) return error.code;
    throw error;
  }
}

describe('every procedure x every role', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await createTestHub('pglite');
  });
  afterAll(() => hub.close());

  it('finds the procedures and each declares its roles', () => {
    expect(procedures.length).toBeGreaterThan(15);
    for (const [path, procedure] of procedures) {
      const roles = procedure._def.meta?.roles;
      expect(roles, path).toBeDefined();
      if (roles === 'public') expect(PUBLIC_PROCEDURES, `${path} is public`).toContain(path);
      else expect(roles!.length, path).toBeGreaterThan(0);
    }
  });

  it('refuses anonymous callers everywhere but the public procedures', async () => {
    for (const [path, procedure] of procedures) {
      if (procedure._def.meta?.roles === 'public') continue;
      expect(await errorCode(callPath(hub.anonymous(), path)), path).toBe('UNAUTHORIZED');
    }
  });

  it('refuses a role the procedure does not allow, and lets allowed roles through the role check', async () => {
    const callers = Object.fromEntries(await Promise.all(ROLES.map(async (role) => [role, await hub.as(role)] as const))) as Record<Role, unknown>;
    let refused = 0;
    for (const [path, procedure] of procedures) {
      const roles = procedure._def.meta!.roles;
      for (const role of ROLES) {
        const code = await errorCode(callPath(callers[role], path));
        if (roles !== 'public' && !roles.includes(role)) {
          expect(code, `${role} -> ${path}`).toBe('FORBIDDEN');
          refused++;
        } else {
          // With empty input an allowed call may fail validation, but never on the role.
          expect(['FORBIDDEN', 'UNAUTHORIZED'], `${role} -> ${path}`).not.toContain(code);
        }
      }
    }
    expect(refused).toBeGreaterThan(20);
  });

  it('refuses a revoked token', async () => {
    const admin = await hub.as('admin');
    const { token, secret } = await admin.auth.createToken({ name: 'short-lived', role: 'engineer' });
    await admin.auth.revokeToken({ id: token.id });
    expect(await authenticate(hub.deps, secret)).toBeNull();
  });
});
