import { expect, test } from '@playwright/test';
import { classify, hub, newToken, openApp, testImages, variantOf } from './pwa-helpers';
import { FASHION_MNIST_LABELS } from '../hub/src/demo';
import { E2E_MODEL } from './start-hub';

test('classifies known Fashion-MNIST test images on WebGPU, as the hub does, and the hub receives each prediction', async ({ page }) => {
  test.setTimeout(120_000);
  const token = await newToken('labeler', 'webgpu-labeler');
  await openApp(page, { token, backend: 'webgpu' });
  await expect(page.getByLabel('Backend in use')).toHaveText('backend: webgpu');

  const images = await testImages(FASHION_MNIST_LABELS, 3);
  const shown: { id: string; predicted: string; truth: string }[] = [];
  for (const image of images) {
    const result = await classify(page, image);
    expect(result.latency).toMatch(/^\d+\.\d ms on webgpu, model v1$/);
    // The hub runs the same published model with the same preprocessing: the device must agree with it.
    const server = await hub().registry.predict.mutate({ ...E2E_MODEL, imageBase64: image.png.toString('base64') });
    expect(result.label, image.name).toBe(server.top[0]!.label);
    shown.push({ id: result.id, predicted: result.label, truth: image.label });
  }
  // The model scores ~81% on the sample's test split (8 epochs on 2,500 images); broken preprocessing scores ~10%.
  expect(shown.filter((s) => s.predicted === s.truth).length, JSON.stringify(shown)).toBeGreaterThanOrEqual(21);

  // The hub receives every prediction once, sent by this token, made on webgpu.
  await expect.poll(async () => (await hub().feedback.predictions.query({ project: E2E_MODEL.project, limit: 500 })).predictions.filter((p) => shown.some((s) => s.id === p.id)).length).toBe(images.length);
  const received = (await hub().feedback.predictions.query({ project: E2E_MODEL.project, limit: 500 })).predictions.filter((p) => shown.some((s) => s.id === p.id));
  expect(new Set(received.map((p) => p.backend))).toEqual(new Set(['webgpu']));
  expect(new Set(received.map((p) => p.sentBy))).toEqual(new Set(['webgpu-labeler']));
});

test('works offline: opens from its caches, classifies, queues predictions and labels, then syncs each exactly once', async ({ page, context }) => {
  test.setTimeout(120_000);
  const token = await newToken('labeler', 'offline-labeler');
  await openApp(page, { token });
  await page.evaluate(() => navigator.serviceWorker.ready);
  await expect.poll(() => page.evaluate(() => Boolean(navigator.serviceWorker.controller))).toBe(true);

  // No network at all from here: the page, its scripts, the worker, wasm and the model come from the device.
  await context.setOffline(true);
  await page.reload();
  await expect(page.getByLabel('App status')).toHaveText('ready', { timeout: 30_000 });
  await expect(page.getByLabel('Connection')).toHaveText('offline');

  const [trouser, bag, sandal] = await testImages(['Trouser', 'Bag', 'Sandal'], 1);
  const newImage = variantOf(trouser!); // not in the dataset yet
  const ids: string[] = [];
  for (const image of [newImage, bag!, sandal!]) ids.push((await classify(page, image)).id);
  // Confirm one prediction here; in the labeling queue, correct another and share its image for training.
  await page.getByRole('button', { name: /^Confirm / }).click();
  await expect(page.getByText(/^Labelled /)).toBeVisible();
  await page.getByRole('button', { name: 'Label' }).click();
  await page.getByLabel('add the images I label to the training data').check();
  const first = page.getByRole('listitem', { name: `Prediction ${ids[0]}` });
  await first.getByLabel('Right label').selectOption('Dress');
  await expect(first).toHaveCount(0); // labelled: it leaves the queue of unlabelled predictions
  await page.getByLabel('only those without a label').uncheck();
  await expect(first.getByLabel('Image sharing')).toHaveText('image waiting to upload');
  await expect(page.getByLabel('Outbox')).toHaveText('5 waiting to sync');
  const mine = async () => (await hub().feedback.predictions.query({ project: E2E_MODEL.project, limit: 500 })).predictions.filter((p) => ids.includes(p.id));
  expect(await mine()).toEqual([]);

  // Back online, the first sync is cut off after the hub stored the batch: the device never hears back.
  let cut = 0;
  await context.route('**/trpc/feedback.syncPredictions', async (route) => {
    if (cut++ === 0) {
      await route.fetch();
      await route.abort('connectionreset');
    } else await route.continue();
  });
  await context.setOffline(false);
  await expect(page.getByLabel('Outbox')).toHaveText('0 waiting to sync', { timeout: 45_000 });
  expect(cut).toBeGreaterThanOrEqual(2);

  const received = await mine();
  expect(received.map((p) => p.id).sort()).toEqual([...ids].sort());
  expect(received.find((p) => p.id === ids[0])!.groundTruth).toMatchObject({ label: 'Dress', labeledBy: 'offline-labeler' });
  expect(received.find((p) => p.id === ids[2])!.groundTruth).toMatchObject({ label: received.find((p) => p.id === ids[2])!.label });
  expect(received.find((p) => p.id === ids[1])!.groundTruth).toBeNull();

  // The shared image went to the working set with the label the labeler gave it, through a presigned upload.
  await expect(first.getByLabel('Image sharing')).toHaveText('image uploaded');
  const dresses = await hub().items.list.query({ project: E2E_MODEL.project, label: 'Dress', limit: 1000 });
  const shared = dresses.items.filter((item) => item.source === 'upload');
  expect(shared).toHaveLength(1);
  await hub().items.remove.mutate({ project: E2E_MODEL.project, sha256: shared[0]!.sha256 }); // leave the working set as it was
});

test('refuses a tampered manifest or shard and a replayed pointer, keeping the last good model, and picks up a newly promoted one', async ({ browser }) => {
  test.setTimeout(120_000);
  // The CDN is intercepted here, so the service worker stays out of this test (it is not what is under test).
  const context = await browser.newContext({ serviceWorkers: 'block' });
  const page = await context.newPage();
  await openApp(page);
  await expect(page.getByLabel('Model in use')).toContainText('v1');
  const pointerUrl = `/cdn/${E2E_MODEL.project}/${E2E_MODEL.model}/channels/production.json`;
  const oldPointer = await (await fetch(process.env.EDGELOOP_E2E_URL + pointerUrl)).text();

  const { versions } = await hub().registry.versions.query(E2E_MODEL);
  const v1 = versions.find((v) => v.version === 1)!;
  const next = await hub().registry.publish.mutate({ runId: v1.runId, model: E2E_MODEL.model });
  const versionDir = `**/cdn/${E2E_MODEL.project}/${E2E_MODEL.model}/v${next.version}`;
  // As from a compromised CDN: first the manifest arrives altered, then every weight shard with one byte flipped.
  await context.route(`${versionDir}/manifest.*.json`, async (route) => {
    const response = await route.fetch();
    await route.fulfill({ response, body: (await response.text()).replace('float32', 'float16') });
  });
  await hub().registry.promote.mutate({ ...E2E_MODEL, channel: 'production', version: next.version, reason: 'e2e: tampered delivery' });
  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByRole('button', { name: 'Check for a new model' }).click();
  await expect(page.getByRole('alert')).toContainText(`manifest of v${next.version}: sha256`);
  await expect(page.getByRole('alert')).toContainText('still using v1');

  await context.unrouteAll();
  await context.route(`${versionDir}/**/*.bin`, async (route) => {
    const response = await route.fetch();
    const body = Buffer.from(await response.body());
    body[body.length >> 1]! ^= 0xff;
    await route.fulfill({ response, body });
  });
  await page.getByRole('button', { name: 'Check for a new model' }).click();
  await expect(page.getByRole('alert')).toContainText(`does not match the signed manifest`);
  await expect(page.getByRole('alert')).toContainText('still using v1');
  await expect(page.getByLabel('Model in use')).toContainText('v1');
  await page.getByRole('button', { name: 'Classify' }).click();
  const [bag] = await testImages(['Bag'], 1);
  expect((await classify(page, bag!)).latency).toMatch(/model v1$/);

  // The CDN is sound again: coming back online, the app notices the promoted version and switches to it.
  await context.unrouteAll();
  await context.setOffline(true);
  await context.setOffline(false);
  await expect(page.getByLabel('Model in use')).toContainText(`v${next.version}`, { timeout: 30_000 });
  await expect(page.getByRole('alert')).toHaveCount(0);
  expect((await classify(page, bag!)).latency).toMatch(new RegExp(`model v${next.version}$`));

  // A validly signed but older pointer (v1's) served again would roll the device back: refused.
  await context.route(`**${pointerUrl}`, (route) => route.fulfill({ contentType: 'application/json', body: oldPointer }));
  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByRole('button', { name: 'Check for a new model' }).click();
  await expect(page.getByRole('alert')).toContainText('an old pointer replayed');
  await expect(page.getByLabel('Model in use')).toContainText(`v${next.version}`);
  await context.close();
});

test('is an installable PWA that fits a phone', async ({ page, request }) => {
  const manifest = await (await request.get('/manifest.webmanifest')).json();
  expect(manifest).toMatchObject({ name: 'Edgeloop', start_url: '/', display: 'standalone' });
  expect(manifest.icons.map((i: { sizes: string }) => i.sizes)).toEqual(expect.arrayContaining(['192x192', '512x512']));
  for (const icon of manifest.icons) expect((await request.get(icon.src)).headers()['content-type']).toBe('image/png');

  await page.setViewportSize({ width: 390, height: 844 });
  const token = await newToken('labeler', 'phone-labeler');
  await openApp(page, { token });
  expect(await page.evaluate(async () => Boolean(await navigator.serviceWorker.getRegistration()))).toBe(true);
  const [image] = await testImages(['Coat'], 1);
  await classify(page, image!);
  expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
  await page.screenshot({ path: 'test-results/pwa-phone.png', fullPage: true });
  await page.getByRole('button', { name: 'Label' }).click();
  await expect(page.getByRole('listitem')).toHaveCount(1);
  expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
  await page.screenshot({ path: 'test-results/pwa-phone-label.png', fullPage: true });
  await page.getByRole('button', { name: 'Settings' }).click();
  await expect(page.getByRole('table', { name: 'Backend measurements' })).toBeVisible({ timeout: 60_000 });
  expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
  await page.screenshot({ path: 'test-results/pwa-phone-settings.png', fullPage: true });
});
