import { expect, test } from '@playwright/test';
import { encodeGreyscalePng } from '../hub/src/images/png';
import { openAdmin } from './admin-helpers';

test('a labeler-style upload from the browser lands through a presigned URL and a new version diffs +1', async ({ page }) => {
  await openAdmin(page, '#/fashion-mnist/data');

  await page.getByLabel('Label', { exact: true }).selectOption('Bag');
  const image = encodeGreyscalePng(Uint8Array.from({ length: 28 * 28 }, (_, i) => (i * 7) % 251), 28, 28);
  await page.getByLabel('Images', { exact: true }).setInputFiles([
    { name: 'bag.png', mimeType: 'image/png', buffer: image },
    { name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('this is text, not a picture') },
  ]);
  await expect(page.getByText(/^bag\.png: added as [0-9a-f]{12}$/)).toBeVisible();
  await expect(page.getByText(/notes\.png: .*is not a decodable PNG, JPEG or WebP image/)).toBeVisible();

  await page.getByLabel('Commit message').fill('one bag from the browser');
  await page.getByRole('button', { name: /^Commit 3,001 items/ }).click();
  await expect(page.locator('article.version').first()).toContainText('one bag from the browser');
  await page.getByRole('link', { name: /^What changed since / }).first().click();
  await expect(page.getByRole('status')).toContainText('1 added, 0 removed, 0 relabelled or moved, 3,000 unchanged');
  await expect(page.getByRole('region', { name: 'Added items' }).getByRole('link')).toHaveCount(1);
});
