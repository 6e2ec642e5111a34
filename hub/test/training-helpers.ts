import { expect } from 'vitest';
import { FASHION_MNIST_LABELS, SAMPLE_DIR } from '../src/demo';
import { importIdx, mnistStylePairs } from '../src/datasets/import-idx';
import { getProject } from '../src/projects/project.service';
import type { TestHub } from './test-hub';

/** The shipped Fashion-MNIST sample (2,500 train + 500 test) as a committed dataset version. */
export async function fashionSampleVersion(hub: TestHub, slug = 'fashion'): Promise<string> {
  const engineer = await hub.as('engineer');
  await engineer.projects.create({ slug, labels: FASHION_MNIST_LABELS });
  await importIdx(hub.deps, await getProject(hub.deps, slug), mnistStylePairs(SAMPLE_DIR));
  return (await engineer.datasets.commit({ project: slug, message: 'sample' })).version.id;
}

/** Polls a run until it reaches one of `statuses`. */
export async function waitForRun(hub: TestHub, runId: string, statuses: string[], timeoutMs = 180_000) {
  const engineer = await hub.as('engineer');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await engineer.runs.get({ runId });
    if (statuses.includes(run.status)) return run;
    expect(Date.now(), `run ${runId} still ${run.status}: ${run.logs.map((l) => l.line).join('\n')}`).toBeLessThan(deadline);
    await new Promise((r) => setTimeout(r, 250));
  }
}
