import { expect, test } from '@playwright/test';
import { openAdmin } from './admin-helpers';
import { classify, testImages } from './pwa-helpers';

test('an engineer trains from the admin, watches it live, publishes and promotes the model', async ({ page }) => {
  test.setTimeout(180_000);
  await openAdmin(page, '#/fashion-mnist/runs');

  await page.getByLabel('epochs').fill('2');
  await page.getByRole('button', { name: /^Train reference CNN on/ }).click();
  // Live progress while it runs, then the drawn epoch metrics and confusion matrix.
  await expect(page.getByRole('progressbar', { name: 'Training progress' })).toBeVisible({ timeout: 30_000 });
  await expect(page.locator('.run h3')).toContainText('succeeded', { timeout: 150_000 });
  // A line chart is a canvas in an image named by its numbers, with a table of every value; the confusion matrix is a table.
  await expect(page.getByRole('img', { name: 'Accuracy' }).locator('canvas')).toBeVisible();
  await expect(page.getByRole('table', { name: 'Accuracy', includeHidden: true }).locator('tbody td')).toHaveCount(4); // 2 epochs x train, val
  await expect(page.getByRole('table', { name: 'Confusion matrix' }).locator('tbody td')).toHaveCount(100);
  await expect(page.getByRole('cell', { name: 'uint8' })).toBeVisible();

  await page.getByLabel('Model name').fill('fashion-admin');
  await page.getByRole('button', { name: 'Publish as a model version' }).click();
  await expect(page.getByText(/published fashion-admin v1/)).toBeVisible();
  await page.getByRole('navigation', { name: 'Sections of Fashion-MNIST' }).getByRole('link', { name: 'Models' }).click();
  await page.getByRole('link', { name: 'fashion-admin' }).click();
  // The promote names its target and asks first, with the reason kept in the history.
  await page.getByRole('button', { name: 'Promote v1 to production' }).click();
  const confirm = page.getByRole('dialog', { name: 'Promote v1 to production' });
  await expect(confirm).toContainText('Point production to v1 for every device?');
  await confirm.getByLabel('Reason').fill('first model from the admin');
  await confirm.getByRole('button', { name: 'Promote v1 to production' }).click();
  await expect(page.getByText('production → v1')).toBeVisible();
  await expect(page.getByText(/promote production v1: first model from the admin/)).toBeVisible();

  // A link for a device: the PWA opens on the promoted model with a new labeler token, and its prediction comes back.
  await page.getByRole('link', { name: 'Devices & tokens' }).click();
  await page.getByLabel('Model', { exact: true }).selectOption('fashion-admin');
  await page.getByLabel('Device role').selectOption('labeler');
  await page.getByLabel('Device name').fill('admin-made-phone');
  await page.getByRole('button', { name: 'Create a link with a new token' }).click();
  const device = await page.context().newPage();
  await device.goto(await page.getByLabel('Device link').inputValue());
  await expect(device.getByLabel('App status')).toHaveText('ready', { timeout: 30_000 });
  await expect(device.getByLabel('Model in use')).toContainText('fashion-admin v1');
  const [trouser] = await testImages(['Trouser'], 1);
  await classify(device, trouser!);
  await page.getByRole('link', { name: 'Monitoring' }).click();
  await expect(async () => {
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect(page.getByRole('table', { name: 'Predictions from devices' })).toContainText('admin-made-phone', { timeout: 1000 });
  }).toPass({ timeout: 20_000 });

  await page.screenshot({ path: 'test-results/admin-training.png', fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
  await page.screenshot({ path: 'test-results/admin-training-phone.png', fullPage: true });
});
