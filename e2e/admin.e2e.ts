import { expect, test } from '@playwright/test';
import { E2E_MODEL } from './start-hub';
import { checkA11y, openAdmin } from './admin-helpers';

test('an admin signs in with the bootstrap token, opens the project and sees the demo dataset version', async ({ page }) => {
  await page.goto('/admin/');
  await page.getByLabel('API token').fill('elt_not-a-real-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toContainText('Sign-in failed. The hub does not accept this token');
  await expect(page.getByRole('alert')).toContainText('Sign in again with a valid token');
  await checkA11y(page);

  await page.getByLabel('API token').fill(process.env.EDGELOOP_E2E_TOKEN!);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByText('Signed in as bootstrap-admin (admin)')).toBeVisible();
  await page.getByRole('link', { name: 'Fashion-MNIST' }).click();
  await expect(page).toHaveURL(/#\/fashion-mnist\/data$/);
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Data');
  const version = page.locator('article.version').last(); // the oldest: the demo import
  await expect(version).toContainText('3,000 items');
  await expect(version.locator('.row[title^="Ankle boot"]')).toHaveCount(2); // train and test

  // Committing an unchanged working set makes no version, and says so.
  await page.getByRole('button', { name: 'Commit 3,000 items as a version' }).click();
  await expect(page.getByLabel('Commit result')).toContainText('Nothing changed since version');
  await expect(page.locator('article.version')).toHaveCount(1);
  await checkA11y(page);
});

test('each section has an address: links, reloads and the back button land on the same page', async ({ page }) => {
  await openAdmin(page, '#/fashion-mnist/data');
  const nav = page.getByRole('navigation', { name: 'Sections of Fashion-MNIST' });
  await nav.getByRole('link', { name: 'Models' }).click();
  await expect(page).toHaveURL(/#\/fashion-mnist\/models$/);
  await expect(nav.getByRole('link', { name: 'Models' })).toHaveAttribute('aria-current', 'page');
  await page.getByRole('link', { name: E2E_MODEL.model }).click();
  await expect(page).toHaveURL(new RegExp(`#/fashion-mnist/models/${E2E_MODEL.model}$`));
  await expect(page.getByText(/production → v1/)).toBeVisible();

  await page.reload();
  await expect(page.getByText(/production → v1/)).toBeVisible();
  await page.goBack();
  await expect(page).toHaveURL(/#\/fashion-mnist\/models$/);
  await page.goBack();
  await expect(page).toHaveURL(/#\/fashion-mnist\/data$/);
  await expect(page.locator('article.version').first()).toBeVisible();

  await openAdmin(page, '#/no-such-project/runs');
  await expect(page.getByRole('heading', { name: 'Project not found' })).toBeVisible();
});

test('the hub answers an API call with bad input with a 400 naming the field', async ({ request }) => {
  const response = await request.get('/trpc/datasets.list?input=' + encodeURIComponent(JSON.stringify({ project: 42 })), {
    headers: { authorization: `Bearer ${process.env.EDGELOOP_E2E_TOKEN}` },
  });
  expect(response.status()).toBe(400);
  expect((await response.json()).error.message).toMatch(/^project: /);
});
