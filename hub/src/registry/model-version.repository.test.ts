import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishedVersion } from '../../test/published-version';
import { type TestHub, createTestHub } from '../../test/test-hub';
import { modelVersions } from '../db/schema';
import { listModelVersions } from './channel.service';

describe('model versions read back through the weight-format contract', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await createTestHub('pglite');
    await (await hub.as('admin')).projects.create({ slug: 'pets', labels: ['cat', 'dog'] });
    await publishedVersion(hub.deps, 'pets', 'pets', 1);
  });
  afterAll(() => hub?.close());

  it('refuses a version whose formats do not parse, naming the version', async () => {
    expect((await listModelVersions(hub.deps, { project: 'pets', model: 'pets' })).versions).toHaveLength(1);
    // Versions are immutable (a trigger refuses UPDATE): a garbled one can only have been written so.
    const [v1] = await hub.deps.db.select().from(modelVersions);
    const { id: _id, createdAt: _createdAt, ...row } = v1!;
    await hub.deps.db.insert(modelVersions).values({ ...row, version: 2, formats: sql`'{"float32": {"format": "float32", "published": true}}'::jsonb` });
    const [v2] = (await hub.deps.db.select().from(modelVersions)).filter((v) => v.version === 2);
    await expect(listModelVersions(hub.deps, { project: 'pets', model: 'pets' })).rejects.toThrow(
      `model version 2 (${v2!.id}) formats does not match its contract (float32.accuracy: `,
    );
  });
});
