import { type Page, expect, test } from '@playwright/test';
import { encodeGreyscalePng } from '../hub/src/images/png';
import { atBothSizes, checkA11y, openAdmin } from './admin-helpers';

const grid = (page: Page) => page.getByRole('region', { name: 'Browse items' });
/** The captions' labels of the grid's items (the bold line under each image). */
const labelsShown = (page: Page) => grid(page).locator('ul.grid .label').allTextContents();

/** The number of items the grid's status says once it has loaded (not while it says "loading"), other than `not`. */
async function shownCount(page: Page, not?: number): Promise<number> {
  let count = -1;
  await expect
    .poll(async () => {
      const text = (await grid(page).getByRole('status').textContent()) ?? '';
      count = text.includes('loading') ? -1 : Number(text.replace(/,/g, '').match(/^\s*(\d+) items/)?.[1] ?? -1);
      return count >= 0 && count !== not;
    })
    .toBe(true);
  return count;
}

test('the demo data as an image grid: filters and pages in the address, back and reload, an item and its history', async ({ page }) => {
  await openAdmin(page, '#/fashion-mnist/data');
  await expect(grid(page).getByRole('status')).toHaveText('3,000 items in the working set.');
  await expect(grid(page).locator('ul.grid > li')).toHaveCount(48);
  await expect(grid(page).getByText('Page 1 of 63')).toBeVisible();
  await checkA11y(page);

  await grid(page).getByLabel('Filter by label').selectOption('Bag');
  await expect(page).toHaveURL(/#\/fashion-mnist\/data\?label=Bag$/);
  await expect(grid(page).getByRole('status')).toHaveText(/^\d+ items in the working set match the filters\.$/);
  const bags = await shownCount(page);
  expect(bags).toBeGreaterThan(48);
  expect(new Set(await labelsShown(page))).toEqual(new Set(['Bag']));

  await grid(page).getByLabel('Filter by split').selectOption('train');
  await expect(page).toHaveURL(/\?label=Bag&split=train$/);
  const trainBags = await shownCount(page, bags);
  expect(trainBags).toBeLessThan(bags);
  // The class balance is what the filters select: one split, one label, the same count.
  await grid(page).getByText('Class balance per split').click();
  await expect(grid(page).locator('.mix h4')).toHaveText(['train']);
  await expect(grid(page).locator('.mix .row[title="Bag: ' + trainBags + '"]')).toHaveCount(1);

  await grid(page).getByRole('link', { name: 'Next', exact: true }).click();
  await expect(page).toHaveURL(/\?label=Bag&split=train&page=2$/);
  await expect(grid(page).getByText(`Page 2 of ${Math.ceil(trainBags / 48)}`)).toBeVisible();
  const secondPage = await grid(page).locator('ul.grid a').first().getAttribute('href');
  await page.reload();
  await expect(grid(page).locator('ul.grid a').first()).toHaveAttribute('href', secondPage!);
  await page.goBack();
  await expect(page).toHaveURL(/\?label=Bag&split=train$/);
  await expect(grid(page).getByText(`Page 1 of ${Math.ceil(trainBags / 48)}`)).toBeVisible();
  await atBothSizes(page, 'data-grid');

  // Another source than the import's: none of the demo's items.
  await grid(page).getByLabel('Filter by source').selectOption('upload');
  await expect(grid(page).getByRole('status')).toHaveText('0 items in the working set match the filters.');
  await grid(page).getByRole('link', { name: 'Clear filters' }).click();
  await expect(page).toHaveURL(/#\/fashion-mnist\/data$/);

  // The same items through the committed version.
  await grid(page).getByLabel('Items of').selectOption({ index: 1 });
  await expect(page).toHaveURL(/\?in=[0-9a-f]{64}$/);
  await expect(grid(page).getByRole('status')).toHaveText(/^3,000 items in version [0-9a-f]{12}\.$/);

  const first = grid(page).locator('ul.grid a').first();
  const label = (await first.locator('.label').textContent())!;
  await first.click();
  await expect(page).toHaveURL(/#\/fashion-mnist\/data\/item\/[0-9a-f]{64}\?in=/);
  await expect(page.getByRole('heading', { name: /^Item [0-9a-f]{12}$/ })).toBeVisible();
  await expect(page.getByRole('img', { name: `the item's image, labelled ${label}` })).toBeVisible();
  const history = page.getByRole('region', { name: 'History' });
  await expect(history.locator('tbody tr')).toHaveCount(1);
  await expect(history.locator('tbody tr td').nth(3)).toHaveText(label);
  await expect(page.getByRole('region', { name: 'Working set' })).toContainText(`${label} in`);
  await expect(page.getByRole('region', { name: 'Working set' })).toContainText('IDX import (the demo data)');
  await checkA11y(page);
  await atBothSizes(page, 'data-item');
  await page.getByRole('link', { name: '← Back to the items' }).click();
  await expect(page).toHaveURL(/#\/fashion-mnist\/data\?in=[0-9a-f]{64}$/);
});

test('a new project made in the admin: plain-words errors, uploads, commit, relabel with history and undo, the diff as images', async ({ page }) => {
  await openAdmin(page, '#/');
  const form = page.getByRole('region', { name: 'New project' });
  await form.getByLabel('Name', { exact: true }).fill('Data e2e shop');
  await expect(form.getByLabel('Short name (in addresses)')).toHaveValue('data-e2e-shop');
  await form.getByLabel('Labels, one per line').fill('cat');
  await form.getByRole('button', { name: 'Create project' }).click();
  await expect(form.getByText('The labels must name at least 2 classes.')).toBeVisible();
  await form.getByLabel('Labels, one per line').fill('cat\ncat');
  await form.getByRole('button', { name: 'Create project' }).click();
  await expect(form.getByText('The labels must be unique.')).toBeVisible();
  await form.getByLabel('Short name (in addresses)').fill('-bad');
  await form.getByRole('button', { name: 'Create project' }).click();
  await expect(form.getByText(/^The short name must be 2-63 characters/)).toBeVisible();
  await checkA11y(page);
  await atBothSizes(page, 'data-new-project');

  await form.getByLabel('Short name (in addresses)').fill('data-e2e-shop');
  await form.getByLabel('Labels, one per line').fill('cat\ndog\n');
  await form.getByRole('button', { name: 'Create project' }).click();
  await expect(page).toHaveURL(/#\/data-e2e-shop\/data$/);
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Data e2e shop');

  await page.getByLabel('Label', { exact: true }).selectOption('cat');
  const png = (seed: number) => encodeGreyscalePng(Uint8Array.from({ length: 28 * 28 }, (_, i) => (i * seed) % 251), 28, 28);
  await page.getByLabel('Images', { exact: true }).setInputFiles([1, 2, 3].map((seed) => ({ name: `cat-${seed}.png`, mimeType: 'image/png', buffer: png(seed + 3) })));
  await expect(page.getByText(/^cat-3\.png: added as/)).toBeVisible();
  await page.getByLabel('Commit message').fill('three cats');
  await page.getByRole('button', { name: 'Commit 3 items as a version' }).click();
  await expect(page.getByLabel('Commit result')).toContainText('Committed version');
  await expect(grid(page).getByRole('status')).toHaveText('3 items in the working set.');

  await grid(page).locator('ul.grid a').first().click();
  const workingSet = page.getByRole('region', { name: 'Working set' });
  await workingSet.getByLabel('New label').selectOption('dog');
  await workingSet.getByRole('button', { name: 'Relabel' }).click();
  await expect(workingSet.getByRole('status')).toHaveText('Relabelled from cat to dog. The next commit includes it.');
  await expect(workingSet).toContainText('dog in train');
  await expect(page.getByRole('region', { name: 'History' }).locator('tbody tr td').nth(3)).toHaveText('cat');

  await workingSet.getByRole('button', { name: 'Remove from the working set' }).click();
  await expect(workingSet).toContainText('Not in the working set: only in committed versions.');
  await workingSet.getByRole('button', { name: 'Undo: put it back' }).click();
  await expect(workingSet.getByRole('status')).toHaveText('Put back as dog in train.');
  await expect(workingSet).toContainText('dog in train');
  await checkA11y(page);

  await page.getByRole('link', { name: '← Back to the items' }).click();
  await page.getByLabel('Commit message').fill('one cat is a dog');
  await page.getByRole('button', { name: 'Commit 3 items as a version' }).click();
  await expect(page.getByLabel('Commit result')).toContainText('Committed version');
  await page.getByRole('link', { name: /^What changed since / }).click();
  await expect(page.getByRole('status')).toHaveText('0 added, 0 removed, 1 relabelled or moved, 2 unchanged.');
  const relabelled = page.getByRole('region', { name: 'Relabelled items' });
  await expect(relabelled.locator('ul.grid li')).toHaveCount(1);
  await expect(relabelled.locator('.meta')).toContainText('cat → dog');
  // The thumbnail is the real image (28x28), not a broken link.
  await expect.poll(() => relabelled.locator('img').evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(28);
  await checkA11y(page);
  await atBothSizes(page, 'data-diff');
});
