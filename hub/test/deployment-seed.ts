/**
 * What a deployment's test or benchmark starts from, written through the hub's services before any hub process
 * starts: the Fashion-MNIST project, the signing key and an admin token (so no two hubs starting at once both make
 * one), version 1 of a model for devices to report on, tokens for devices and CI, and optionally the shipped sample
 * (2,500 train + 500 test images) committed as a dataset version to train on.
 */
import { createToken } from '../src/auth/token.service';
import { commitVersion } from '../src/datasets/version.service';
import { importIdx, mnistStylePairs } from '../src/datasets/import-idx';
import { FASHION_MNIST_LABELS, SAMPLE_DIR } from '../src/demo';
import type { HubDeps } from '../src/deps';
import { createProject } from '../src/projects/project.service';
import { publishedVersion } from './published-version';

export interface DeploymentSeed {
  project: string;
  projectId: string;
  model: string;
  labels: readonly string[];
  deviceSecret: string;
  ciSecret: string;
  /** The committed sample, when asked for. */
  datasetVersionId: string | null;
}

export async function seedDeployment(deps: HubDeps, options: { project?: string; model?: string; dataset: boolean }): Promise<DeploymentSeed> {
  const project = options.project ?? 'fashion';
  const model = options.model ?? 'fashion-cnn';
  const created = await createProject(deps, { slug: project, labels: FASHION_MNIST_LABELS, createdBy: 'seed' });
  await deps.keys.ready();
  await createToken(deps, { name: 'seed-admin', role: 'admin', createdBy: 'seed' });
  await publishedVersion(deps, project, model, 1);
  const deviceSecret = (await createToken(deps, { name: 'devices', role: 'device', createdBy: 'seed', projects: [project] })).secret;
  const ciSecret = (await createToken(deps, { name: 'ci', role: 'ci', createdBy: 'seed', projects: [project] })).secret;
  let datasetVersionId: string | null = null;
  if (options.dataset) {
    await importIdx(deps, created, mnistStylePairs(SAMPLE_DIR));
    datasetVersionId = (await commitVersion(deps, { project, message: 'sample', createdBy: 'seed' })).version.id;
  }
  return { project, projectId: created.id, model, labels: FASHION_MNIST_LABELS, deviceSecret, ciSecret, datasetVersionId };
}
