import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORED_RUN_CONFIGS, publishedVersion } from '../../test/published-version';
import { type TestHub, createTestHub } from '../../test/test-hub';
import { runs as runsTable } from '../db/schema';
import { getProject } from '../projects/project.service';
import * as runs from './run.repository';
import { getRun, listRuns } from './run.service';

describe('the runs list', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await createTestHub('pglite');
    await (await hub.as('admin')).projects.create({ slug: 'pets', labels: ['cat', 'dog'] });
    await publishedVersion(hub.deps, 'pets', 'pets', 1);
  });
  afterAll(() => hub?.close());

  it("gives each run its own last epoch's validation metrics, read for the whole page at once, as one run's page does", async () => {
    const { id: projectId } = await getProject(hub.deps, 'pets');
    const [{ datasetVersionId }] = (await hub.deps.db.select({ datasetVersionId: runsTable.datasetVersionId }).from(runsTable)) as [{ datasetVersionId: string }];
    const epochCounts = [3, 0, 5, 1];
    for (const [n, epochs] of epochCounts.entries()) {
      const run = await runs.createQueued(hub.deps.db, { projectId, datasetVersionId, sweepId: null, ...STORED_RUN_CONFIGS, createdBy: 'test' });
      // Recorded out of order: the last epoch is the highest number, not the last row written.
      for (const epoch of Array.from({ length: epochs }, (_, i) => epochs - i)) {
        await runs.recordEpoch(hub.deps.db, run.id, { epoch, loss: 1, accuracy: 0.5, valLoss: 1 / (epoch + n), valAccuracy: epoch / 10 + n / 100, seconds: 1, imagesPerSecond: 100 });
      }
    }
    const listed = await listRuns(hub.deps, { project: 'pets', limit: 10 });
    expect(listed).toHaveLength(epochCounts.length + 1);
    for (const summary of listed) expect(summary.metrics).toEqual((await getRun(hub.deps, summary.id)).metrics);
    const valAccuracies = listed.map((r) => r.metrics.valAccuracy).filter((v) => v !== undefined);
    expect(valAccuracies.sort()).toEqual([0.1 + 0.03, 0.3, 0.5 + 0.02].sort());
  });
});
