import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HubDeps } from './deps';
import { type IdxPair, importIdx, mnistStylePairs } from './datasets/import-idx';
import type { ProgressFn } from './datasets/ingest.service';
import { createProject, findProject } from './projects/project.service';
import { commitVersion } from './datasets/version.service';

export const FASHION_MNIST_LABELS = ['T-shirt', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
export const DEMO_PROJECT_SLUG = 'fashion-mnist';
export const SAMPLE_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/fashion-mnist-sample');

/** The full Fashion-MNIST where the Debian package is installed, else the sample shipped in the repo. */
export function fashionMnistSource(debianDir: string): { pairs: IdxPair[]; kind: 'full' | 'sample'; dir: string } {
  const full = mnistStylePairs(debianDir);
  if (full.every((pair) => fs.existsSync(pair.images) && fs.existsSync(pair.labels))) {
    return { pairs: full, kind: 'full', dir: debianDir };
  }
  return { pairs: mnistStylePairs(SAMPLE_DIR), kind: 'sample', dir: SAMPLE_DIR };
}

/** Creates the demo project with a first dataset version, unless it exists already. */
export async function ensureDemoProject(deps: HubDeps, debianDir: string, onProgress?: ProgressFn): Promise<void> {
  if (await findProject(deps, DEMO_PROJECT_SLUG)) return;
  const source = fashionMnistSource(debianDir);
  deps.log.info(
    source.kind === 'full'
      ? `demo project: importing the full Fashion-MNIST (70,000 images) from ${source.dir}`
      : `demo project: the Debian package dataset-fashion-mnist is not installed; importing the 3,000-image sample shipped in ${source.dir}`,
  );
  const project = await createProject(deps, {
    slug: DEMO_PROJECT_SLUG,
    name: 'Fashion-MNIST',
    labels: FASHION_MNIST_LABELS,
    createdBy: 'demo',
  });
  const result = await importIdx(deps, project, source.pairs, onProgress);
  const { version } = await commitVersion(deps, {
    project: project.slug,
    message: `Fashion-MNIST ${source.kind === 'full' ? 'full data set' : 'sample'} (${result.added} images)`,
    createdBy: 'demo',
  });
  deps.log.info(`demo project: ${result.added} items (${result.duplicates} duplicates skipped), dataset version ${version.id.slice(0, 12)}`);
}
