import { expect, test } from '@playwright/test';

test('an admin signs in with the bootstrap token and sees the demo dataset version', async ({ page }) => {
  await page.goto('/admin/');
  await page.getByLabel('API token').fill('elt_not-a-real-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toContainText('missing or invalid API token');

  await page.getByLabel('API token').fill(process.env.EDGELOOP_E2E_TOKEN!);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByText('Signed in as bootstrap-admin (admin)')).toBeVisible();
  await page.getByRole('button', { name: 'Fashion-MNIST' }).click();
  const version = page.locator('article.version').last(); // the oldest: the demo import
  await expect(version).toContainText('3,000 items');
  await expect(version.locator('.row[title^="Ankle boot"]')).toHaveCount(2); // train and test

  // Committing an unchanged working set makes no version, and says so.
  await page.getByRole('button', { name: 'Commit 3,000 items as a version' }).click();
  await expect(page.getByLabel('Commit result')).toContainText('Nothing changed since version');
  await expect(page.locator('article.version')).toHaveCount(1);
});

test('the hub answers an API call with bad input with a 400 naming the field', async ({ request }) => {
  const response = await request.get('/trpc/datasets.list?input=' + encodeURIComponent(JSON.stringify({ project: 42 })), {
    headers: { authorization: `Bearer ${process.env.EDGELOOP_E2E_TOKEN}` },
  });
  expect(response.status()).toBe(400);
  expect((await response.json()).error.message).toMatch(/^project: /);
});

test('the admin app fits a phone-sized screen', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto('/admin/');
  await page.getByLabel('API token').fill(process.env.EDGELOOP_E2E_TOKEN!);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Fashion-MNIST' }).click();
  await expect(page.locator('article.version').first()).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await page.screenshot({ path: 'test-results/admin-phone.png', fullPage: true });
});
