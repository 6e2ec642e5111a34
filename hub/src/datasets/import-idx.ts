import type { Split } from '@edgeloop/shared';
import type { HubDeps } from '../deps';
import { badRequest } from '../errors';
import { encodeGreyscalePng } from '../images/png';
import { readIdxImages, readIdxLabels } from './idx';
import { type IngestCandidate, type IngestResult, type ProgressFn, inBatches, ingestCandidates } from './ingest.service';
import type { Project } from '../projects/project.repository';

export interface IdxPair {
  images: string;
  labels: string;
  split: Split;
}

/**
 * Imports IDX image/label file pairs (the MNIST family's format). Label n is the project's n-th label;
 * each image is stored as a greyscale PNG.
 */
export async function importIdx(
  deps: HubDeps,
  project: Project,
  pairs: IdxPair[],
  onProgress?: ProgressFn,
): Promise<IngestResult> {
  const loaded = await Promise.all(
    pairs.map(async (pair) => {
      const [images, labels] = await Promise.all([readIdxImages(pair.images), readIdxLabels(pair.labels)]);
      if (images.count !== labels.length) {
        throw badRequest(`${pair.images} has ${images.count} images but ${pair.labels} has ${labels.length} labels`);
      }
      const maxLabel = labels.reduce((max, l) => Math.max(max, l), 0);
      if (maxLabel >= project.labels.length) {
        throw badRequest(
          `${pair.labels} uses label index ${maxLabel} but project "${project.slug}" has ${project.labels.length} labels (0..${project.labels.length - 1})`,
        );
      }
      return { ...pair, images: images, labelIndices: labels };
    }),
  );
  const total = loaded.reduce((sum, pair) => sum + pair.images.count, 0);

  function* candidates(): Iterable<IngestCandidate> {
    for (const { images, labelIndices, split } of loaded) {
      const size = images.rows * images.cols;
      for (let i = 0; i < images.count; i++) {
        yield {
          bytes: encodeGreyscalePng(images.pixels.subarray(i * size, (i + 1) * size), images.cols, images.rows),
          contentType: 'image/png',
          width: images.cols,
          height: images.rows,
          label: project.labels[labelIndices[i]!]!,
          split,
          source: 'idx',
        };
      }
    }
  }
  return ingestCandidates(deps, project, inBatches(candidates()), { total, onProgress });
}

/** The standard file names of an MNIST-style directory: train and t10k (test) pairs. */
export function mnistStylePairs(dir: string): IdxPair[] {
  return [
    { images: `${dir}/train-images-idx3-ubyte.gz`, labels: `${dir}/train-labels-idx1-ubyte.gz`, split: 'train' },
    { images: `${dir}/t10k-images-idx3-ubyte.gz`, labels: `${dir}/t10k-labels-idx1-ubyte.gz`, split: 'test' },
  ];
}
