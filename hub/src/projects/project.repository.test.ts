import crypto from 'node:crypto';
import { TRPCError } from '@trpc/server';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, type TestHub, createTestHub } from '../../test/test-hub';
import * as datasetVersions from '../datasets/dataset-version.repository';
import * as uploads from '../datasets/upload.repository';
import { StoredDataError } from '../db/stored-json';
import * as projects from './project.repository';

describe.each(DATABASES)('the projects table owner on $kind', ({ kind, skip }) => {
  let hub: TestHub;
  const at = new Date('2026-01-02T03:04:05.000Z');
  const shapes = { slug: 'shapes', name: 'Shapes', labels: ['circle', 'square'], maxImagePixels: 4096, createdBy: 'test', createdAt: at };

  beforeAll(async () => {
    if (skip) return;
    hub = await createTestHub(kind);
  });
  afterAll(() => hub?.close());

  it.skipIf(skip)('creates a project once per slug and reads its labels back as written', async () => {
    const created = await projects.create(hub.deps.db, shapes);
    expect(created).toEqual({ id: expect.any(String), ...shapes });
    expect(await projects.create(hub.deps.db, { ...shapes, name: 'Other', labels: ['a', 'b'] })).toBeNull();
    expect(await projects.findBySlug(hub.deps.db, 'shapes')).toEqual(created);
    expect(await projects.findById(hub.deps.db, created!.id)).toEqual(created);
    expect(await projects.findBySlugs(hub.deps.db, ['shapes', 'nope'])).toEqual([created]);
  });

  it.skipIf(skip)('names the project of an upload, and no project for an unknown or malformed id', async () => {
    const project = (await projects.findBySlug(hub.deps.db, 'shapes'))!;
    const uploadId = await uploads.create(hub.deps.db, {
      projectId: project.id,
      sha256: '0'.repeat(64),
      bytes: 1,
      contentType: 'image/png',
      label: 'circle',
      split: 'train',
      createdBy: 'test',
      createdByTokenId: null,
      createdAt: at,
      expiresAt: at,
    });
    expect(await uploads.projectSlugOf(hub.deps.db, uploadId)).toBe('shapes');
    expect(await uploads.projectSlugOf(hub.deps.db, crypto.randomUUID())).toBeNull();
    expect(await uploads.projectSlugOf(hub.deps.db, "1' or '1'='1")).toBeNull();
  });

  it.skipIf(skip)('answers a damaged stored row as the hub\'s fault (naming the row in its log), not as a bad request', async () => {
    const damaged = (await projects.create(hub.deps.db, { ...shapes, slug: 'damaged' }))!;
    await hub.deps.db.execute(sql`update projects set labels = '{"circle": true}'::jsonb where id = ${damaged.id}`);
    const refused = await projects.findBySlug(hub.deps.db, 'damaged').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(StoredDataError);
    expect((refused as Error).message).toMatch(/^project damaged labels does not match its contract \(/);
    const answer = await (await hub.as('admin')).projects.get({ project: 'damaged' }).catch((error: unknown) => error);
    expect(answer).toBeInstanceOf(TRPCError);
    expect((answer as TRPCError).code).toBe('INTERNAL_SERVER_ERROR');

    // Versions are immutable (a trigger refuses UPDATE): one written with damaged counts from the start.
    const id = 'd'.repeat(64);
    await hub.deps.db.execute(
      sql`insert into dataset_versions (id, project_id, message, item_count, counts, manifest_bytes, created_by) values (${id}, ${damaged.id}, 'm', 1, '{"train": {"circle": "one"}}'::jsonb, 1, 'test')`,
    );
    await expect(datasetVersions.find(hub.deps.db, damaged.id, id)).rejects.toThrow(
      new RegExp(`^dataset version ${id} counts does not match its contract \\(train\\.circle: `),
    );
  });
});
