import type { Split } from '@edgeloop/shared';
import { FASHION_LABELS, loadFashionMnist } from '@edgeloop/training/test-support';
import { inBatches, ingestCandidates } from '../src/datasets/ingest.service';
import { commitVersion } from '../src/datasets/version.service';
import type { HubDeps } from '../src/deps';
import { encodeGreyscalePng } from '../src/images/png';
import { createProject, findProject } from '../src/projects/project.service';

/**
 * A project (made when missing) with a committed dataset version of the first `counts` images of each split of the
 * shipped Fashion-MNIST sample (val from its train file's end), as PNGs: a real dataset, small enough to train in seconds.
 */
export async function smallFashionVersion(
  deps: HubDeps,
  slug: string,
  counts: Record<Split, number>,
  options: { /** An MNIST-style directory to take the images from (default: the shipped sample). */ dir?: string; message?: string } = {},
): Promise<string> {
  const project = (await findProject(deps, slug)) ?? (await createProject(deps, { slug, labels: FASHION_LABELS, createdBy: 'test' }));
  const sample = loadFashionMnist(options.dir, { valCount: counts.val });
  const sets = { train: sample.train, val: sample.val, test: sample.test };
  const candidates = (['train', 'val', 'test'] as const).flatMap((split) =>
    Array.from({ length: counts[split] }, (_, i) => ({
      bytes: encodeGreyscalePng(sets[split].pixels.subarray(i * 784, (i + 1) * 784), 28, 28),
      contentType: 'image/png' as const,
      width: 28,
      height: 28,
      label: FASHION_LABELS[sets[split].labels[i]!]!,
      split,
      source: 'idx' as const,
    })),
  );
  await ingestCandidates(deps, project, inBatches(candidates), { total: candidates.length });
  const { version } = await commitVersion(deps, { project: slug, message: options.message ?? `${candidates.length} sample images`, createdBy: 'test' });
  return version.id;
}
