import { type Browser, type Page, expect, test } from '@playwright/test';
import { DEFAULT_LABELING_SETTINGS } from '../shared/src/labeling';
import { inCanary, rolloutKey } from '../shared/src/rollout';
import { FASHION_MNIST_LABELS } from '../hub/src/demo';
import { encodeGreyscalePng } from '../hub/src/images/png';
import { rotate } from '../hub/bench/monitor-streams';
import { type TestImage, classify, hub, newToken, openApp, testImages } from './pwa-helpers';
import { E2E_MODEL } from './start-hub';
import { openAdmin } from './admin-helpers';

/**
 * The whole loop, nothing faked: devices classify a shifted stream with the promoted model, the monitor alerts, a
 * labeler reviews predictions from the hub's queue in the PWA sharing their images, the review count triggers the
 * pipeline, the challenger passes the gate, goes to a canary device first, then to every device, and both devices
 * classify the rest of the stream better than before.
 */

const { project } = E2E_MODEL;
/** A model of its own, so the other tests keep theirs as they expect it. */
const model = 'fashion-loop';
/** Rotated by 30 degrees: the same garments, photographed with the phone held at a tilt. */
const DEGREES = 30;
const REVIEWS = 150;

function tilted(image: TestImage): TestImage {
  const pixels = rotate(image.pixels, 28, 28, DEGREES);
  return { ...image, name: `tilted-${image.name}`, pixels, png: Buffer.from(encodeGreyscalePng(pixels, 28, 28)) };
}

/** Two device ids of which the first runs the candidate `version` (canary share 0.5) and the second does not. */
function deviceIdsFor(version: number): [string, string] {
  const key = rolloutKey(project, model, 'production', version);
  let canary: string | undefined;
  let production: string | undefined;
  while (!canary || !production) {
    const id = crypto.randomUUID();
    if (inCanary(id, key, 0.5)) canary ??= id;
    else production ??= id;
  }
  return [canary, production];
}

/** Opens the app in a fresh context as installation `deviceId` (the id a PWA makes once and keeps in its database). */
async function openDevice(browser: Browser, token: string, deviceId: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await openApp(page, { token, model });
  await page.evaluate(async (id) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const open = indexedDB.open('edgeloop');
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction('kv', 'readwrite');
      tx.objectStore('kv').put(id, 'deviceId');
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    db.close();
  }, deviceId);
  await page.reload();
  await expect(page.getByLabel('App status')).toHaveText('ready', { timeout: 30_000 });
  return page;
}

/** Classifies `images` on the device; returns how many it got right. `truth` remembers each prediction's true label. */
async function classifyAll(page: Page, images: TestImage[], truth: Map<string, string>): Promise<number> {
  let right = 0;
  for (const image of images) {
    const { id, label } = await classify(page, image);
    truth.set(id, image.label);
    if (label === image.label) right++;
  }
  return right;
}

/** Reloads until the app runs `version` of the model (it reads the channel's signed pointer at start). */
async function waitForVersion(page: Page, version: number): Promise<void> {
  await expect(async () => {
    await page.reload();
    await expect(page.getByLabel('App status')).toHaveText('ready', { timeout: 30_000 });
    await expect(page.getByLabel('Model in use')).toContainText(`v${version}`, { timeout: 5_000 });
  }).toPass({ timeout: 120_000, intervals: [2_000] });
}

// The engineer's settings below are for this test's one project-wide loop; the defaults go back afterwards.
test.afterAll(async () => {
  const admin = hub();
  await admin.pipeline.settings.set.mutate({ project, settings: {} });
  await admin.labeling.settings.set.mutate({ project, ...DEFAULT_LABELING_SETTINGS });
  await admin.monitoring.settings.set.mutate({ project, deviceCap: 0.1 });
});

test('the loop closes: a tilted stream, an alert, reviews in the PWA, retraining, the gate, a canary, then every device is better', async ({ browser }) => {
  test.setTimeout(1_200_000);
  const started = Date.now();
  const phase = (what: string) => console.log(`loop e2e, ${((Date.now() - started) / 1000).toFixed(0)} s: ${what}`);
  const admin = hub();
  // The champion is trained until its train loss settles (24 epochs on the sample's 2,300 images, about 40 s). The
  // e2e model's 8 epochs leave the Pullover/Coat/Shirt boundaries moving: any further training, a fine-tune included,
  // then trades one of those classes' recall against another's by 15 to 30 points on the clean test split.
  const [dataset] = await admin.datasets.list.query({ project });
  const trained = await admin.runs.create.mutate({ project, datasetVersion: dataset!.id, train: { epochs: 24, seed: 7 } });
  await expect.poll(async () => (await admin.runs.get.query({ runId: trained.id })).status, { timeout: 300_000, intervals: [3_000] }).toBe('succeeded');
  const published = await admin.registry.publish.mutate({ runId: trained.id, model });
  await admin.registry.promote.mutate({ project, model, channel: 'production', version: published.version, reason: 'the loop e2e champion' });
  const champion = published.version;
  const candidate = champion + 1;

  // The engineer's settings: one device plays many people here, so a device may fill a window; reviewed images are
  // accepted when this labeler gives them; 150 reviews start a run; half the devices get the candidate first.
  await admin.monitoring.settings.set.mutate({ project, deviceCap: 1 });
  await admin.labeling.settings.set.mutate({ project, acceptance: { agreement: null, trustedLabelers: ['loop-labeler'] } });
  await admin.pipeline.settings.set.mutate({
    project,
    settings: {
      model,
      triggers: { alertOpenMinutes: null, newReviews: REVIEWS, schedule: null },
      holdout: { share: 0.4, minItems: 10 },
      // The e2e data set has about 50 test images per class: one image moves a class's recall by 2 points, and a
      // fine-tune on 90 tilted reviews trades Shirt against T-shirt/Coat: falls of 12 and 17 points (McNemar
      // p = 0.004) were seen while the model gained on the whole test split. The gate's class check is pinned by
      // pipeline-gate.test.ts; here it is to stop a collapsed class, not the fine-tune's usual trade.
      gate: { maxClassRecallDrop: 25 },
      rollout: { canaryShare: 0.5, minCanaryEvents: 30, automatic: true },
    },
  });

  const [canaryId, productionId] = deviceIdsFor(candidate);
  const labeler = await openDevice(browser, await newToken('labeler', 'loop-labeler'), canaryId);
  const device = await openDevice(browser, await newToken('device', 'loop-device'), productionId);
  // The sample's test images in their own order (classes interleaved), tilted.
  const originals = await testImages(FASHION_MNIST_LABELS, 50);
  const stream = originals.sort((a, b) => Number(a.name.split('-')[1]) - Number(b.name.split('-')[1])).map(tilted);
  const truth = new Map<string, string>();

  // 1. The shifted stream on the champion: the labeler's device takes most of it (its predictions are what it reviews).
  const before = (await classifyAll(labeler, stream.slice(0, 220), truth)) + (await classifyAll(device, stream.slice(220, 280), truth));
  const accuracyBefore = before / 280;

  phase(`the champion classified 280 tilted images, ${(accuracyBefore * 100).toFixed(1)}% right`);
  // 2. The monitor alerts on the champion's stream.
  await expect
    .poll(async () => (await admin.monitoring.state.query({ project })).streams.filter((s) => s.model === model && s.version === champion).flatMap((s) => s.openAlerts).length, {
      timeout: 120_000,
      intervals: [2_000],
    })
    .toBeGreaterThan(0);

  phase('an alert is open');
  // 3. The labeler reviews predictions from the queue in the PWA, sharing each image.
  await labeler.getByRole('button', { name: 'Label' }).click();
  await labeler.getByLabel('add the images I label to the training data').check();
  for (let reviewed = 0; reviewed < REVIEWS; reviewed++) {
    // The first in the queue's order; then that item by name, as the list may reorder when the queue answers again.
    const id = (await labeler.getByRole('listitem', { name: /^Prediction / }).first().getAttribute('aria-label'))!.slice('Prediction '.length);
    const label = truth.get(id);
    expect(label, `prediction ${id} was made in this test`).toBeDefined();
    const entry = labeler.getByRole('listitem', { name: `Prediction ${id}` });
    await entry.getByLabel('Right label').selectOption(label!);
    await expect(entry).toHaveCount(0);
  }

  phase(`${REVIEWS} predictions reviewed`);
  // 4. The reviews start a pipeline run; it trains, evaluates, passes the gate and publishes the challenger.
  await expect.poll(async () => (await admin.pipeline.list.query({ project })).runs.length, { timeout: 180_000, intervals: [3_000] }).toBeGreaterThan(0);
  const [run] = (await admin.pipeline.list.query({ project })).runs;
  expect(run!.trigger).toBe('reviews');
  // Until it rolls out (or ends: a refused gate or a failed step says why below).
  const rollingOut = async () => {
    const detail = await admin.pipeline.get.query({ pipelineRunId: run!.id });
    return detail.status !== 'running' || detail.steps.find((s) => s.step === 'rollout')!.status === 'running';
  };
  await expect.poll(rollingOut, { timeout: 420_000, intervals: [3_000] }).toBe(true);
  const gated = await admin.pipeline.get.query({ pipelineRunId: run!.id });
  phase(`the pipeline run is ${gated.status}, at ${gated.currentStep}: ${gated.reason ?? gated.verdict?.reason ?? ''}`);
  expect(gated.status, gated.reason ?? '').toBe('running');
  expect(gated.verdict?.promote, gated.verdict?.reason).toBe(true);

  // 5. The canary: only the labeler's device runs the candidate; its events (and the other's) decide the rollout.
  await waitForVersion(labeler, candidate);
  await labeler.getByRole('button', { name: 'Classify' }).click();
  await device.reload();
  await expect(device.getByLabel('Model in use')).toContainText(`v${champion}`, { timeout: 30_000 });
  await classifyAll(labeler, stream.slice(280, 330), truth);
  await classifyAll(device, stream.slice(330, 360), truth);
  await expect
    .poll(async () => (await admin.pipeline.get.query({ pipelineRunId: run!.id })).outcome, { timeout: 240_000, intervals: [3_000] })
    .toBe('promoted')
    .catch(async (error: Error) => {
      const canary = await admin.registry.canary.state.query({ project, model, channel: 'production' });
      const profile = await admin.monitoring.profile.query({ project, model, version: candidate });
      const streams = (await admin.monitoring.state.query({ project })).streams.filter((s) => s.model === model).map(({ version, channel, events, updatedAt }) => ({ version, channel, events, updatedAt }));
      throw new Error(`${error.message}\nthe canary: ${JSON.stringify(canary)}\nthe candidate's profile: ${JSON.stringify(profile).slice(0, 500)}\nstreams: ${JSON.stringify(streams)}`);
    });

  phase('the canary passed: every device gets the challenger');

  // The engineer's view of the run: each step's state, champion vs challenger, the gate's verdict.
  const adminPage = await (await browser.newContext()).newPage();
  await openAdmin(adminPage, `#/${project}/pipelines`);
  const pipelines = adminPage.getByRole('region', { name: 'Pipelines' });
  await pipelines.getByRole('link', { name: `Open run ${run!.id.slice(0, 8)}` }).click();
  const shown = pipelines.getByRole('region', { name: 'Pipeline run' });
  await expect(shown.getByRole('status', { name: 'Run status' })).toHaveText('succeeded · promoted');
  for (const step of ['build-dataset', 'train', 'evaluate', 'gate', 'publish', 'rollout']) await expect(shown.getByRole('status', { name: `${step} status` })).toHaveText('succeeded');
  await expect(shown.getByRole('region', { name: 'Gate verdict' })).toContainText('McNemar');
  await expect(shown.getByRole('group', { name: 'Challenger confusion matrix' }).first()).toBeVisible();
  await adminPage.screenshot({ path: 'test-results/loop-pipeline-run.png', fullPage: true });
  // 6. Every device picks the new model up, and the rest of the shifted stream is classified better.
  await waitForVersion(device, candidate);
  await waitForVersion(labeler, candidate);
  const rest = stream.slice(360);
  const after = (await classifyAll(labeler, rest.slice(0, rest.length / 2), truth)) + (await classifyAll(device, rest.slice(rest.length / 2), truth));
  const accuracyAfter = after / rest.length;
  console.log(`loop e2e: accuracy on the shifted stream ${(accuracyBefore * 100).toFixed(1)}% (v${champion}) -> ${(accuracyAfter * 100).toFixed(1)}% (v${candidate})`);
  expect(accuracyAfter).toBeGreaterThan(accuracyBefore + 0.05);
});
