import crypto from 'node:crypto';
import { DEFAULT_PIPELINE_SETTINGS, PIPELINE_STEPS, PROJECT_SCOPED_ROLES, ROLES, type Role } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestHub, createTestHub, refusal } from '../../test/test-hub';
import { authenticate, createToken, hashSecret } from '../auth/token.service';
import { apiTokens } from '../db/schema';
import { encodeGreyscalePng } from '../images/png';
import { appRouter } from './app.router';
import * as pipelineRuns from '../pipelines/pipeline-run.repository';
import { getProject } from '../projects/project.service';
import { ensureModel } from '../registry/model-version.repository';
import type { ProcedureMeta } from './trpc';

type AnyProcedure = { _def: { meta?: ProcedureMeta; inputs: { shape?: Record<string, unknown> }[] } };
const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, AnyProcedure>);
const PUBLIC_PROCEDURES = ['health', 'registry.publicKey', 'registry.publicKeys', 'auth.signInHint'];
/** Procedures that name no project; each limits its answer to the caller's projects (tested below). */
const NO_PROJECT_PROCEDURES = ['auth.whoami', 'projects.list'];
/** Roles a token may be scoped to projects with (admin tokens never are). */
const SCOPABLE_ROLES: readonly Role[] = ROLES.filter((role) => role !== 'admin');

async function callPath(caller: unknown, path: string, input: unknown = {}): Promise<unknown> {
  const fn = path.split('.').reduce<any>((node, key) => node[key], caller);
  return fn(input);
}

const errorCode = async (call: Promise<unknown>) => (await refusal(call))?.code ?? null;

const A = 'scope-a';
const B = 'scope-b';

describe('every procedure x every role x project scope', () => {
  let hub: TestHub;
  /** Per project: a queued run, an upload in progress and a pipeline run, for the procedures keyed by id. */
  const fixtures: Record<string, { runId: string; uploadId: string; pipelineRunId: string }> = {};
  /** An input that names project `slug` in every way a procedure may look for it. */
  const inputFor = (slug: string) => ({
    project: slug,
    slug,
    runId: fixtures[slug]!.runId,
    uploadId: fixtures[slug]!.uploadId,
    pipelineRunId: fixtures[slug]!.pipelineRunId,
    model: 'm',
    version: 1,
  });

  beforeAll(async () => {
    hub = await createTestHub('pglite');
    const admin = await hub.as('admin');
    for (const [i, slug] of [A, B].entries()) {
      await admin.projects.create({ slug, labels: ['cat', 'dog'] });
      const bytes = Buffer.from(await encodeGreyscalePng(new Uint8Array(16).fill(i), 4, 4));
      const item = { project: slug, bytes: bytes.length, contentType: 'image/png' as const, label: 'cat' };
      const ticket = await admin.items.createUpload({ ...item, sha256: crypto.createHash('sha256').update(bytes).digest('hex') });
      await fetch(ticket.url, { method: 'PUT', body: new Uint8Array(bytes), headers: ticket.headers });
      await admin.items.completeUpload({ uploadId: ticket.uploadId });
      const { version } = await admin.datasets.commit({ project: slug, message: 'one image' });
      const run = await admin.runs.create({ project: slug, datasetVersion: version.id });
      // Left open: nothing is PUT, so completing it fails after the authorisation check and leaves it there.
      const open = await admin.items.createUpload({ ...item, sha256: 'f'.repeat(64) });
      // A pipeline run row (no worker takes it): the pipeline procedures keyed by its id find their project through it.
      const { id: projectId } = await getProject(hub.deps, slug);
      const model = await ensureModel(hub.deps.db, { projectId, name: 'fixture', createdBy: 'test' });
      const pipelineRun = await pipelineRuns.createWithSteps(
        hub.deps.db,
        { projectId, modelId: model.id, channel: 'production', trigger: 'manual', triggerDetail: 'fixture', championVersionId: null, createdBy: 'test', config: { settings: DEFAULT_PIPELINE_SETTINGS, champion: { version: 1, runId: run.id } } },
        PIPELINE_STEPS,
        crypto.randomUUID(),
        new Date(),
      );
      fixtures[slug] = { runId: run.id, uploadId: open.uploadId, pipelineRunId: pipelineRun.id };
    }
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

  it('has every procedure a scoped token may call declare how its project is found, in a field its input has', () => {
    let checked = 0;
    for (const [path, procedure] of procedures) {
      const { roles, project } = procedure._def.meta!;
      if (roles === 'public' || !roles.some((role) => SCOPABLE_ROLES.includes(role))) continue;
      expect(project, `${path} declares no project source`).toBeDefined();
      if (project!.kind === 'none') {
        expect(NO_PROJECT_PROCEDURES, `${path} names no project: it must filter to the caller's projects and be listed here`).toContain(path);
      } else {
        const fields = procedure._def.inputs.flatMap((schema) => Object.keys(schema.shape ?? {}));
        expect(fields, `${path} finds its project in input field "${project!.field}", which its input does not have`).toContain(project!.field);
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(20);
  });

  it('refuses anonymous callers everywhere but the public procedures', async () => {
    for (const [path, procedure] of procedures) {
      if (procedure._def.meta?.roles === 'public') continue;
      expect(await errorCode(callPath(hub.anonymous(), path)), path).toBe('UNAUTHORIZED');
    }
  });

  it('refuses a role the procedure does not allow, and lets allowed roles through the role check', async () => {
    const callers = Object.fromEntries(await Promise.all(ROLES.map(async (role) => [role, await hub.as(role, role === 'admin' ? {} : { projects: [A] })] as const))) as Record<Role, unknown>;
    let refused = 0;
    for (const [path, procedure] of procedures) {
      const roles = procedure._def.meta!.roles;
      for (const role of ROLES) {
        const code = await errorCode(callPath(callers[role], path, inputFor(A)));
        if (roles !== 'public' && !roles.includes(role)) {
          expect(code, `${role} -> ${path}`).toBe('FORBIDDEN');
          refused++;
        } else {
          // An allowed call may fail validation or in the service, but never on the role.
          expect(['FORBIDDEN', 'UNAUTHORIZED'], `${role} -> ${path}`).not.toContain(code);
        }
      }
    }
    expect(refused).toBeGreaterThan(20);
  });

  it('refuses a token scoped to project A on project B for every procedure and role, and lets it act on A', async () => {
    let refused = 0;
    for (const role of SCOPABLE_ROLES) {
      const scoped = await hub.as(role, { projects: [A] });
      for (const [path, procedure] of procedures) {
        const { roles, project } = procedure._def.meta!;
        if (roles === 'public' || !roles.includes(role) || project!.kind === 'none') continue;
        const outside = await refusal(callPath(scoped, path, inputFor(B)));
        expect(outside?.code, `${role} on ${B} -> ${path}`).toBe('FORBIDDEN');
        expect(outside?.message, `${role} on ${B} -> ${path}`).toMatch(/^this token acts in project\(s\) scope-a only; /);
        refused++;
        const inside = await errorCode(callPath(scoped, path, inputFor(A)));
        expect(['FORBIDDEN', 'UNAUTHORIZED'], `${role} on ${A} -> ${path}: ${inside}`).not.toContain(inside);
      }
    }
    expect(refused).toBeGreaterThan(40);
  });

  it('answers an out-of-scope project or id the same whether or not it exists', async () => {
    const device = await hub.as('device', { projects: [A] });
    const existing = await refusal(device.registry.channel({ project: B, model: 'm' }));
    const missing = await refusal(device.registry.channel({ project: 'no-such-project', model: 'm' }));
    expect(existing).toEqual({ code: 'FORBIDDEN', message: `this token acts in project(s) ${A} only; it may not act on "${B}"` });
    expect(missing).toEqual({ code: 'FORBIDDEN', message: existing!.message.replace(B, 'no-such-project') });

    const ci = await hub.as('ci', { projects: [A] });
    const otherRun = await refusal(ci.runs.get({ runId: fixtures[B]!.runId }));
    const noRun = crypto.randomUUID();
    expect(otherRun?.code).toBe('FORBIDDEN');
    expect(await refusal(ci.runs.get({ runId: noRun }))).toEqual({ code: 'FORBIDDEN', message: otherRun!.message.replace(fixtures[B]!.runId, noRun) });
    expect(await refusal(ci.runs.get({ runId: 'not-a-uuid' }))).toMatchObject({ code: 'FORBIDDEN' });
    // A page cursor is a run of the listed project: another project's run reads like one that does not exist.
    expect((await ci.runs.list({ project: A })).runs.map((r) => r.id)).toEqual([fixtures[A]!.runId]);
    const foreignCursor = await refusal(ci.runs.list({ project: A, cursor: fixtures[B]!.runId }));
    expect(foreignCursor?.code).toBe('BAD_REQUEST');
    expect(await refusal(ci.runs.list({ project: A, cursor: noRun }))).toEqual({ code: 'BAD_REQUEST', message: foreignCursor!.message.replace(fixtures[B]!.runId, noRun) });
  });

  it('lets admin, engineer and ci browse data and read item histories, only admin and engineer restore items, labelers and devices none of it', async () => {
    const rolesOf = (path: string) => procedures.find(([p]) => p === path)![1]._def.meta!.roles;
    for (const path of ['items.browse', 'items.history', 'datasets.activity']) expect(rolesOf(path), path).toEqual(['admin', 'engineer', 'ci']);
    expect(rolesOf('items.restore')).toEqual(['admin', 'engineer']);
    const ci = await hub.as('ci', { projects: [A] });
    expect((await ci.items.browse({ project: A })).total).toBe(1);
    expect(await errorCode(ci.items.browse({ project: B }))).toBe('FORBIDDEN');
    const labeler = await hub.as('labeler', { projects: [A] });
    expect(await errorCode(labeler.items.browse({ project: A }))).toBe('FORBIDDEN');
  });

  it('lets admin, engineer and ci read monitoring and only admin and engineer change its settings', () => {
    const rolesOf = (path: string) => procedures.find(([p]) => p === path)![1]._def.meta!.roles;
    for (const path of ['monitoring.state', 'monitoring.series', 'monitoring.alerts', 'monitoring.settings.get']) expect(rolesOf(path), path).toEqual(['admin', 'engineer', 'ci']);
    expect(rolesOf('monitoring.settings.set')).toEqual(['admin', 'engineer']);
    expect(rolesOf('monitoring.testWebhook')).toEqual(['admin', 'engineer']);
  });

  it('lets admin, engineer and ci start and read a canary, only admin and engineer decide one, and devices and labelers none', () => {
    const rolesOf = (path: string) => procedures.find(([p]) => p === path)![1]._def.meta!.roles;
    expect(rolesOf('registry.canary.start')).toEqual(['admin', 'engineer', 'ci']);
    expect(rolesOf('registry.canary.state')).toEqual(['admin', 'engineer', 'ci']);
    expect(rolesOf('registry.canary.decide')).toEqual(['admin', 'engineer']);
  });

  it('lets admin and engineer see devices, admin, engineer and ci list a version\'s files, and only admins list tokens', () => {
    const rolesOf = (path: string) => procedures.find(([p]) => p === path)![1]._def.meta!.roles;
    expect(rolesOf('devices.seen')).toEqual(['admin', 'engineer']);
    expect(rolesOf('registry.files')).toEqual(['admin', 'engineer', 'ci']);
    expect(rolesOf('registry.publishedFrom')).toEqual(['admin', 'engineer', 'ci']);
    for (const path of ['auth.listTokens', 'auth.createToken', 'auth.revokeToken']) expect(rolesOf(path), path).toEqual(['admin']);
  });

  it('lets admin and engineer decide and set labeling, labelers read and vote, devices read its settings only', async () => {
    const rolesOf = (path: string) => procedures.find(([p]) => p === path)![1]._def.meta!.roles;
    expect(rolesOf('labeling.settings.get')).toEqual(['admin', 'engineer', 'labeler', 'device']);
    for (const path of ['labeling.settings.set', 'labeling.decide']) expect(rolesOf(path), path).toEqual(['admin', 'engineer']);
    for (const path of ['labeling.queue', 'labeling.inbox', 'labeling.vote', 'labeling.imageUrl']) expect(rolesOf(path), path).toEqual(['admin', 'engineer', 'labeler']);
    const device = await hub.as('device', { projects: [A] });
    expect((await device.labeling.settings.get({ project: A })).collectReviewedImages).toBe(false);
    expect(await errorCode(device.labeling.inbox({ project: A }))).toBe('FORBIDDEN');
    const labeler = await hub.as('labeler', { projects: [A] });
    expect(await errorCode(labeler.labeling.decide({ project: A, itemId: crypto.randomUUID(), decision: 'reject' }))).toBe('FORBIDDEN');
    expect(await errorCode(labeler.labeling.settings.set({ project: A, collectReviewedImages: true }))).toBe('FORBIDDEN');
    expect(await errorCode(labeler.labeling.inbox({ project: B }))).toBe('FORBIDDEN');
    expect((await labeler.labeling.inbox({ project: A })).counts).toEqual({ pending: 0, accepted: 0, rejected: 0 });
  });

  it('lets admin and engineer run the pipeline and change its settings, ci start and follow runs, labelers and devices nothing', () => {
    const rolesOf = (path: string) => procedures.find(([p]) => p === path)![1]._def.meta!.roles;
    for (const path of ['pipeline.settings.get', 'pipeline.settings.set', 'pipeline.resume', 'pipeline.cancel']) expect(rolesOf(path), path).toEqual(['admin', 'engineer']);
    for (const path of ['pipeline.start', 'pipeline.list', 'pipeline.get']) expect(rolesOf(path), path).toEqual(['admin', 'engineer', 'ci']);
    expect(procedures.filter(([path]) => path.startsWith('pipeline.')).map(([path]) => path).sort()).toEqual(
      ['pipeline.cancel', 'pipeline.get', 'pipeline.list', 'pipeline.resume', 'pipeline.settings.get', 'pipeline.settings.set', 'pipeline.start'],
    );
  });

  it('lets a ci token follow a pipeline run of its project only', async () => {
    const ci = await hub.as('ci', { projects: [A] });
    expect((await ci.pipeline.get({ pipelineRunId: fixtures[A]!.pipelineRunId })).steps.map((s) => s.step)).toEqual([...PIPELINE_STEPS]);
    expect((await ci.pipeline.list({ project: A })).runs.map((r) => r.id)).toEqual([fixtures[A]!.pipelineRunId]);
    expect(await errorCode(ci.pipeline.get({ pipelineRunId: fixtures[B]!.pipelineRunId }))).toBe('FORBIDDEN');
    expect(await errorCode(ci.pipeline.cancel({ pipelineRunId: fixtures[A]!.pipelineRunId }))).toBe('FORBIDDEN');
    expect(await errorCode((await hub.as('labeler', { projects: [A] })).pipeline.list({ project: A }))).toBe('FORBIDDEN');
  });

  it('lists only the projects in scope, and whoami says the scope', async () => {
    const device = await hub.as('device', { projects: [A] });
    expect((await device.projects.list()).map((p) => p.slug)).toEqual([A]);
    expect(await device.auth.whoami()).toEqual({ name: 'test-device', role: 'device', projects: [A] });
    const engineer = await hub.as('engineer');
    expect((await engineer.projects.list()).map((p) => p.slug)).toEqual([A, B]);
    expect((await engineer.auth.whoami()).projects).toBeNull();
    const both = await hub.as('labeler', { projects: [B, A] });
    expect((await both.auth.whoami()).projects).toEqual([A, B]);
    expect((await both.projects.list()).map((p) => p.slug)).toEqual([A, B]);
  });

  it('keeps a scoped engineer from creating projects outside its scope', async () => {
    const engineer = await hub.as('engineer', { projects: [A] });
    expect(await errorCode(engineer.projects.create({ slug: 'elsewhere', labels: ['x', 'y'] }))).toBe('FORBIDDEN');
  });

  it('refuses device, labeler and ci tokens from before scopes (no project scope) on every procedure', async () => {
    for (const role of PROJECT_SCOPED_ROLES) {
      // What the migration leaves for a token made before scopes: project_ids null.
      const secret = `elt_legacy-${role}-${crypto.randomUUID()}`;
      await hub.deps.db.insert(apiTokens).values({ name: `old-${role}`, role, secretHash: hashSecret(secret), createdBy: 'test' });
      const legacy = await hub.withSecret(secret);
      const answer = await refusal(legacy.auth.whoami());
      expect(answer).toEqual({ code: 'FORBIDDEN', message: `this ${role} token has no project scope (it was made before tokens had projects); create a new one with its project(s) and revoke this one` });
      for (const [path, procedure] of procedures) {
        const roles = procedure._def.meta!.roles;
        if (roles === 'public' || !roles.includes(role)) continue;
        expect(await errorCode(callPath(legacy, path, inputFor(A))), `old ${role} -> ${path}`).toBe('FORBIDDEN');
      }
    }
  });

  it('creates tokens only with a scope that fits the role, naming the field and the valid values', async () => {
    const admin = await hub.as('admin');
    const refused = async (input: Parameters<typeof admin.auth.createToken>[0]) => refusal(admin.auth.createToken(input));
    expect(await refused({ name: 'd', role: 'device' })).toEqual({
      code: 'BAD_REQUEST',
      message: `projects: a device token must name the project(s) it acts in (--project <slug>[,<slug>...]); known projects: ${A}, ${B}`,
    });
    expect(await refused({ name: 'a', role: 'admin', projects: [A] })).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/^projects: admin tokens act on every project/) });
    expect(await refused({ name: 'c', role: 'ci', projects: ['nope'] })).toEqual({ code: 'BAD_REQUEST', message: `projects: no project "nope"; known projects: ${A}, ${B}` });
    expect(await refused({ name: 'c', role: 'ci', projects: ['Bad Slug'] })).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/^projects\.0: slug must be/) });
    expect(await refused({ name: 'c', role: 'ci', projects: [] })).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/^projects: /) });
    expect(await refused({ name: 'c', role: 'ci', projects: Array.from({ length: 101 }, (_, i) => `p${i}`) })).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/^projects: /) });
    // The CLI calls the service without the router; one schema gives both the same answers.
    for (const [projects, message] of [
      [['Bad Slug'], /^projects\.0: slug must be/],
      [[], /^projects: name at least one project, or leave projects out$/],
    ] as const) {
      expect(await refused({ name: 'c', role: 'ci', projects: [...projects] })).toMatchObject({ message: expect.stringMatching(message) });
      await expect(createToken(hub.deps, { name: 'c', role: 'ci', createdBy: 'cli', projects })).rejects.toThrow(message);
    }

    const { token } = await admin.auth.createToken({ name: 'shop-tablet', role: 'device', projects: [B, A, B] });
    expect(token.projects).toEqual([A, B]);
    const { token: engineer } = await admin.auth.createToken({ name: 'everything', role: 'engineer' });
    expect(engineer.projects).toBeNull();
    const listed = (await admin.auth.listTokens({ limit: 100 })).tokens;
    expect(listed.find((t) => t.id === token.id)!.projects).toEqual([A, B]);
    expect(listed.find((t) => t.id === engineer.id)!.projects).toBeNull();
  });

  it('lets labelers, engineers and admins take the review queue, in their projects only', async () => {
    const meta = procedures.find(([path]) => path === 'feedback.nextReviews')![1]._def.meta!;
    expect(meta.roles).toEqual(['admin', 'engineer', 'labeler']);
    expect(await (await hub.as('labeler', { projects: [A] })).feedback.nextReviews({ project: A, limit: 5 })).toEqual({ policy: 'margin-focus-poisson/v2', reviews: [] });
    expect(await errorCode((await hub.as('device', { projects: [A] })).feedback.nextReviews({ project: A, limit: 5 }))).toBe('FORBIDDEN');
    expect(await errorCode((await hub.as('labeler', { projects: [A] })).feedback.nextReviews({ project: B, limit: 5 }))).toBe('FORBIDDEN');
  });

  it('refuses a revoked token', async () => {
    const admin = await hub.as('admin');
    const { token, secret } = await admin.auth.createToken({ name: 'short-lived', role: 'engineer' });
    await admin.auth.revokeToken({ id: token.id });
    expect(await authenticate(hub.deps, secret)).toBeNull();
  });
});
