import { type Page, expect, test } from '@playwright/test';
import { FASHION_MNIST_LABELS } from '../hub/src/demo';
import { encodeGreyscalePng } from '../hub/src/images/png';
import { type TestImage, classify, hub, newToken, openApp, testImages } from './pwa-helpers';
import { E2E_MODEL } from './start-hub';
import { openAdmin } from './admin-helpers';

/** The picture with its brightness turned inside out: the same garments, of a kind the model never saw. */
function inverted(image: TestImage, round: number): TestImage {
  const pixels = image.pixels.map((v) => 255 - v);
  pixels[round % 784] = (pixels[round % 784]! + 1) % 256; // each round a new image as far as content addressing goes
  return { ...image, name: `inverted-${round}-${image.name}`, pixels, png: Buffer.from(encodeGreyscalePng(pixels, 28, 28)) };
}

async function openMonitoring(page: Page): Promise<void> {
  await openAdmin(page, '#/fashion-mnist/monitoring');
  await expect(page.getByRole('heading', { name: 'Streams', exact: true })).toBeVisible();
}

const openAlerts = async () =>
  (await hub().monitoring.state.query({ project: E2E_MODEL.project })).streams.filter((s) => s.model === E2E_MODEL.model).flatMap((s) => s.openAlerts);

test('the PWA classifies a stream of inverted images; the admin monitoring page shows the alert and what moved', async ({ page, browser }) => {
  test.setTimeout(420_000);
  // One browser is one device, and a device may hold at most 10% of a detector window by default (one person's photos
  // are alike): here one PWA plays every user, so the engineer lifts the cap in the monitoring settings first.
  await openMonitoring(page);
  await page.getByText('Monitoring settings').click();
  await page.getByLabel("One device's most share of a window").fill('1');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved.' })).toBeVisible();
  expect((await hub().monitoring.settings.get.query({ project: E2E_MODEL.project })).deviceCap).toBe(1);
  expect(await openAlerts()).toEqual([]);

  const device = await browser.newPage();
  await openApp(device, { token: await newToken('device', 'monitoring-device') });
  const originals = await testImages(FASHION_MNIST_LABELS, 10);
  let sent = 0;
  // Until an alert opens (the detectors' median delay on inverted images is under 200 events), at most 500 images.
  for (let round = 0; sent < 500 && (sent < 100 || (await openAlerts()).length === 0); round++) {
    for (const image of originals.slice(0, 50)) {
      await classify(device, inverted(image, round * 100 + sent));
      sent++;
    }
    if (sent >= 100) await expect.poll(openAlerts, { timeout: 30_000, intervals: [2_000] }).not.toEqual([]).catch(() => {});
  }
  const [alert] = await openAlerts();
  expect(alert, `no alert after ${sent} inverted images`).toBeDefined();

  // The admin page, open all along, refreshes itself every few seconds.
  const stream = page.getByRole('article', { name: `Monitor of ${E2E_MODEL.model} v1 on production` });
  const card = stream.getByRole('status', { name: /^open alert: / });
  await expect(card.first()).toBeVisible({ timeout: 30_000 });
  // What moved, in words: the effect that passed the gate and the estimated accuracy change. The monitor may still be
  // reading the last events (an alert's effect grows as they come in), so the page has to catch up with the hub.
  await expect(async () => {
    const shown = (await card.first().textContent()) ?? '';
    const effects = (await openAlerts()).map((open) => open.explanation.effect);
    expect(effects.some((effect) => shown.includes(effect)), `shown: ${shown}\nopen: ${effects.join(' | ')}`).toBe(true);
  }).toPass({ timeout: 30_000, intervals: [1_000, 2_000] });
  await expect(card.first()).toContainText('Estimated accuracy: −');
  await expect(stream.locator('.flag', { hasText: 'alarm' }).first()).toBeVisible();
  await expect(stream.getByLabel('Class mix now vs reference')).toBeVisible();
  await page.screenshot({ path: 'test-results/monitoring-alert.png', fullPage: true });

  // Put the default back for the tests that follow.
  await hub().monitoring.settings.set.mutate({ project: E2E_MODEL.project, deviceCap: 0.1 });
});

