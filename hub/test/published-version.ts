import crypto from 'node:crypto';
import { validateModelConfig, validateTrainConfig } from '@edgeloop/training';
import { datasetVersions, modelVersions, registeredModels, runs } from '../src/db/schema';
import { getProject } from '../src/projects/project.service';
import type { HubDeps } from '../src/deps';

/** The configs a run row written directly stores: valid contracts (runs are read back through them), never trained. */
export const STORED_RUN_CONFIGS = {
  modelConfig: validateModelConfig({ architecture: 'reference-cnn', numClasses: 2 }),
  trainConfig: validateTrainConfig({}),
};

/**
 * The rows a published model version stands on, written directly, for tests and benchmarks about what comes after
 * publishing (feedback, monitoring), not training.
 */
export async function publishedVersion(deps: HubDeps, project: string, model: string, version: number): Promise<void> {
  const { id: projectId } = await getProject(deps, project);
  const datasetVersionId = crypto.randomBytes(32).toString('hex');
  await deps.db.insert(datasetVersions).values({ id: datasetVersionId, projectId, message: 'm', itemCount: 0, counts: {}, manifestBytes: 0, createdBy: 'test' });
  const [run] = await deps.db.insert(runs).values({ projectId, datasetVersionId, status: 'succeeded', ...STORED_RUN_CONFIGS, createdBy: 'test' }).returning();
  await deps.db.insert(registeredModels).values({ projectId, name: model, createdBy: 'test' }).onConflictDoNothing();
  const [registered] = (await deps.db.select().from(registeredModels)).filter((m) => m.name === model && m.projectId === projectId);
  await deps.db.insert(modelVersions).values({
    modelId: registered!.id,
    version,
    runId: run!.id,
    manifestKey: `cdn/${project}/${model}/v${version}/manifest.json`,
    manifestSha256: 'a'.repeat(64),
    recommended: 'uint8',
    formats: {},
    metrics: {},
    createdBy: 'test',
  });
}
