import { expect, test } from '@playwright/test';
import { atBothSizes, checkA11y, openAdmin } from './admin-helpers';
import { E2E_MODEL } from './start-hub';

// Runs after the files that train, publish, classify and label (files run in name order), so every section has
// something to show: each is checked for accessibility and looked at on a desktop and a phone.
test('every admin section shows the seeded project, fits a phone and a desktop, and passes the accessibility check', async ({ page }) => {
  test.setTimeout(180_000);
  await openAdmin(page, '#/');
  await expect(page.getByRole('table', { name: 'Projects' })).toContainText('Fashion-MNIST');
  await checkA11y(page);
  await atBothSizes(page, 'admin-projects');

  const shows: Record<string, RegExp> = {
    data: /3,000 items/,
    runs: /succeeded/,
    models: new RegExp(E2E_MODEL.model),
    monitoring: new RegExp(`${E2E_MODEL.model} v1 · production`),
    labeling: /Review inbox/,
    pipelines: /Pipeline runs/,
    devices: /Open on a device/,
  };
  for (const [section, text] of Object.entries(shows)) {
    await page.goto(`/admin/#/${E2E_MODEL.project}/${section}`);
    await expect(page.getByRole('navigation', { name: 'Sections of Fashion-MNIST' }).locator('[aria-current="page"]')).toBeVisible();
    await expect(page.getByRole('main')).toContainText(text);
    await checkA11y(page);
    await atBothSizes(page, `admin-${section}`);
  }
});
