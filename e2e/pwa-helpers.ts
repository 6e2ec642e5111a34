/** What the PWA tests share: test images from the shipped sample, a typed hub client, and opening the app. */
import path from 'node:path';
import { type Page, expect } from '@playwright/test';
import { remoteHub } from '../hub/src/cli/remote-hub';
import { FASHION_MNIST_LABELS } from '../hub/src/demo';
import { readIdxImages, readIdxLabels } from '../hub/src/datasets/idx';
import { encodeGreyscalePng } from '../hub/src/images/png';
import { E2E_MODEL } from './start-hub';

const SAMPLE = path.resolve(import.meta.dirname, '../hub/fixtures/fashion-mnist-sample');

export interface TestImage {
  name: string;
  label: string;
  /** 28 x 28 grey bytes, and the same as a PNG file. */
  pixels: Uint8Array;
  png: Buffer;
}

/** Images of the sample's test split (never trained on), `perClass` of each of `labels`, as PNG files. */
export async function testImages(labels: string[], perClass: number): Promise<TestImage[]> {
  const images = await readIdxImages(`${SAMPLE}/t10k-images-idx3-ubyte.gz`);
  const classes = await readIdxLabels(`${SAMPLE}/t10k-labels-idx1-ubyte.gz`);
  const out: TestImage[] = [];
  for (const label of labels) {
    const wanted = FASHION_MNIST_LABELS.indexOf(label);
    for (let i = 0, found = 0; i < images.count && found < perClass; i++) {
      if (classes[i] !== wanted) continue;
      found++;
      const pixels = images.pixels.subarray(i * 784, (i + 1) * 784);
      out.push({ name: `test-${i}-${label.replace(/\W/g, '')}.png`, label, pixels, png: Buffer.from(encodeGreyscalePng(pixels, 28, 28)) });
    }
  }
  return out;
}

/** The same picture with one pixel changed: a new image as far as the hub's content addressing goes. */
export function variantOf(image: TestImage): TestImage {
  const pixels = Uint8Array.from(image.pixels);
  pixels[0] = (pixels[0]! + 1) % 256;
  return { ...image, name: `variant-${image.name}`, pixels, png: Buffer.from(encodeGreyscalePng(pixels, 28, 28)) };
}

/** The hub the tests run against, as the CLI reaches it (admin token unless another is given). */
export function hub(token = process.env.EDGELOOP_E2E_TOKEN!) {
  return remoteHub({ hub: process.env.EDGELOOP_E2E_URL, token });
}

/** A new token of `role`, scoped to the e2e model's project. */
export async function newToken(role: 'labeler' | 'device', name: string): Promise<string> {
  return (await hub().auth.createToken.mutate({ name, role, projects: [E2E_MODEL.project] })).secret;
}

/**
 * Checks that exactly one shared image, labelled `label` by the labeler, waits in the review inbox and has not joined
 * the working set (an image of a prediction needs a rule or a person to accept it), then rejects it.
 */
export async function rejectSharedImage(label: string): Promise<void> {
  const { items } = await hub().labeling.inbox.query({ project: E2E_MODEL.project, status: 'pending', limit: 100 });
  const shared = items.filter((item) => item.source === 'review' && item.votes.some((vote) => vote.label === label));
  expect(shared).toHaveLength(1);
  const inWorkingSet = await hub().items.list.query({ project: E2E_MODEL.project, label, limit: 1000 });
  expect(inWorkingSet.items.map((item) => item.sha256)).not.toContain(shared[0]!.sha256);
  await hub().labeling.decide.mutate({ project: E2E_MODEL.project, itemId: shared[0]!.id, decision: 'reject' });
}

/** Opens the PWA through a link naming the project, model, token (and backend), and waits for the model. */
export async function openApp(page: Page, options: { token?: string; backend?: string; model?: string } = {}): Promise<void> {
  const query = new URLSearchParams({ project: E2E_MODEL.project, model: E2E_MODEL.model, ...options });
  await page.goto(`/?${query}`);
  await expect(page.getByLabel('App status')).toHaveText('ready', { timeout: 30_000 });
}

/** Picks an image in the file picker and waits for its prediction; returns the top label and the shown latency. */
export async function classify(page: Page, image: TestImage): Promise<{ label: string; latency: string; id: string }> {
  const result = page.getByRole('region', { name: 'Prediction', exact: true });
  const before = (await result.count()) ? await result.getAttribute('data-id') : null;
  await page.locator('input[type=file]').setInputFiles({ name: image.name, mimeType: 'image/png', buffer: image.png });
  await expect(result).not.toHaveAttribute('data-id', before ?? '-', { timeout: 30_000 });
  return {
    id: (await result.getAttribute('data-id'))!,
    label: (await page.getByLabel('Top class').textContent())!,
    latency: (await page.getByLabel('Latency').textContent())!,
  };
}
