import { type Page, expect, test } from '@playwright/test';
import { atBothSizes, checkA11y, openAdmin } from './admin-helpers';

/** The phase line of the open run ("Loading 1,234 / 3,000 images", "Epoch 1/1 · step 20/72"), or '' once it has ended. */
const phaseText = async (page: Page) => ((await page.getByRole('group', { name: 'Run progress' }).getByRole('status').textContent({ timeout: 500 }).catch(() => '')) ?? '').trim();

test('an engineer starts a run with a chosen config, watches it load then train, leaves and comes back, compares it and reads its confusion matrix', async ({ page }) => {
  test.setTimeout(300_000);
  await openAdmin(page, '#/fashion-mnist/runs');
  await expect(page.getByRole('heading', { name: 'Train a model' })).toBeVisible();
  await expect(page.getByLabel('Dataset version')).toContainText('(newest)');
  await expect(page.getByRole('table', { name: 'Runs, newest first' }).getByRole('row')).toHaveCount(2); // header + the E2E model's run
  await checkA11y(page);

  // A value the hub refuses is said in words, naming the field and its bound.
  await page.getByLabel('Epochs').fill('0');
  await page.getByRole('button', { name: /^Train reference CNN on/ }).click();
  await expect(page.getByRole('alert')).toContainText('epochs must be at least 1');

  // A grid sweep says how many runs it plans, and refuses more than the hub queues.
  await page.getByLabel('Try a grid of values').check();
  await page.getByLabel('Values to try for parameter 1').fill('0.001, 0.002, 0.004');
  await page.getByRole('button', { name: 'Add a parameter' }).click();
  await page.getByLabel('Values to try for parameter 2').fill('32, 64');
  await expect(page.getByText('Plans 3 × 2 = 6 runs')).toBeVisible();
  await expect(page.getByRole('button', { name: /^Queue 6 runs of reference CNN on/ })).toBeEnabled();
  await page.getByLabel('Values to try for parameter 2').fill(Array.from({ length: 22 }, (_, i) => 16 + i).join(', '));
  await expect(page.getByText('Plans 3 × 22 = 66 runs')).toBeVisible();
  await expect(page.getByRole('button', { name: /^Queue 66 runs/ })).toBeDisabled();
  await atBothSizes(page, 'admin-runs-form');
  await page.getByLabel('Try a grid of values').uncheck();

  // One epoch of a smaller reference CNN on 20x20 images: a size no run decoded yet, so its loading is counted.
  await page.getByLabel('Input size (px)').fill('20');
  await page.getByLabel('Dense units').fill('64');
  await page.getByLabel('Epochs').fill('1');
  await page.getByLabel('Batch size').fill('32');
  await page.getByLabel('Seed').fill('3');
  await page.getByLabel('Augmentation').selectOption('horizontal-flip');
  await page.getByLabel('Backend').selectOption('auto');
  await page.getByRole('button', { name: /^Train reference CNN on/ }).click();
  await expect(page).toHaveURL(/#\/fashion-mnist\/runs\/[0-9a-f-]{36}$/);
  const runHash = new URL(page.url()).hash;
  const runId = runHash.split('/').at(-1)!;
  await expect(page.getByRole('progressbar', { name: 'Training progress' })).toBeVisible();
  await expect(page.locator('.run h3')).toContainText('reference CNN 20×20');

  // Progress from the first second: a phase in words while the images load.
  await expect.poll(() => phaseText(page), { timeout: 60_000, intervals: [100] }).toMatch(/^(Loading [\d,]+ \/ 3,000 images|Loaded 3,000 images|Epoch )/);
  const phases = [await phaseText(page)];

  // Left: the table says what the run says (one status source), with its phase.
  await page.getByRole('link', { name: '← All runs' }).click();
  const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: `Run ${runId.slice(0, 8)}` }) });
  await expect(row).toContainText('running');
  await expect(row).toContainText(/Loading [\d,]+ \/ 3,000 images|Loaded 3,000 images|Epoch 1\/1|Evaluating/);
  // Come back by the address, reloaded: the run shows its live progress again.
  await page.goto(`/admin/${runHash}`);
  await page.reload();
  await expect(page.locator('.run h3')).toContainText(/running|succeeded/);
  for (const deadline = Date.now() + 200_000; Date.now() < deadline; ) {
    const text = await phaseText(page);
    if (text && text !== phases.at(-1)) phases.push(text);
    if ((await page.locator('.run h3').textContent())?.includes('succeeded')) break;
    await page.waitForTimeout(150);
  }
  await expect(page.locator('.run h3')).toContainText('succeeded');
  // The loading came before the epochs, and is kept with the run.
  const firstLoading = phases.findIndex((p) => /^(Loading|Loaded)/.test(p));
  const firstEpoch = phases.findIndex((p) => /^Epoch 1\/1 · step \d+\/\d+/.test(p));
  expect(firstLoading, phases.join(' | ')).toBeGreaterThanOrEqual(0);
  expect(firstEpoch, phases.join(' | ')).toBeGreaterThan(firstLoading);
  await expect(page.getByText(/^Loaded 3,000 images in [\d.]+ (s|min) .*\(decoded\)$/)).toBeVisible();

  // Parameters and lineage in words, with a link to the dataset version.
  await expect(page.getByRole('link', { name: /^[0-9a-f]{12}$/ })).toHaveAttribute('href', /#\/fashion-mnist\/data\/versions\/[0-9a-f]{64}$/);
  await expect(page.getByText('horizontal-flip')).toBeVisible();
  await expect(page.getByText(/images\/s \(last epoch\)/)).toBeVisible();

  // The confusion matrix: counts, then each true class's percentages.
  const matrix = page.getByRole('table', { name: 'Confusion matrix' });
  await expect(matrix.locator('tbody td')).toHaveCount(100);
  await expect(matrix.locator('tbody td').first()).toHaveText(/^\d+$/);
  await page.getByRole('radio', { name: 'Row %' }).check();
  await expect(matrix.locator('tbody td').first()).toHaveText(/^(\d+|<1)%$/);
  const rowShares = await matrix.locator('tbody tr').first().locator('td').allTextContents();
  expect(rowShares.every((t) => t.endsWith('%'))).toBe(true);
  await checkA11y(page);
  await atBothSizes(page, 'admin-run');
  await page.getByRole('radio', { name: 'Counts' }).check();
  await expect(matrix.locator('tbody td').first()).toHaveText(/^\d+$/);

  // Compare it with the E2E model's run, ticked in the table of succeeded runs.
  await page.getByRole('link', { name: '← All runs' }).click();
  await page.getByLabel('Status').selectOption('succeeded');
  await expect(page).toHaveURL(/\?status=succeeded$/);
  const boxes = page.getByRole('checkbox', { name: /^Compare run / });
  await expect(boxes).toHaveCount(2);
  const mine = `Compare run ${runId.slice(0, 8)}`;
  const other = (await boxes.evaluateAll((elements) => elements.map((e) => e.getAttribute('aria-label')))).find((name) => name !== mine)!;
  await page.getByRole('checkbox', { name: mine }).check();
  await page.getByRole('checkbox', { name: other }).check();
  await page.getByRole('button', { name: 'Compare selected (2)' }).click();
  await expect(page).toHaveURL(new RegExp(`#/fashion-mnist/runs/compare\\?ids=[0-9a-f-]{36}%2C[0-9a-f-]{36}$`));
  await expect(page.getByRole('heading', { name: 'Compare 2 runs' })).toBeVisible();
  const params = page.getByRole('table', { name: 'Parameters of each run' });
  await expect(params.getByRole('row', { name: /Input \(height × width × channels\) \(differs\)/ })).toContainText('20 × 20 × 1');
  await expect(params.getByRole('row', { name: /^Seed \(differs\)/ })).toContainText('3');
  await expect(params.getByRole('row', { name: /^Batch size \(differs\)/ })).toContainText('32');
  await expect(params.getByRole('row', { name: /^Learning rate 0/ })).not.toContainText('differs');
  await page.getByLabel(/Only the \d+ that differ/).check();
  await expect(params.getByRole('row', { name: /^Filters/ })).toHaveCount(0);
  await expect(page.getByRole('img', { name: /^Val accuracy/ }).locator('canvas')).toBeVisible();
  await expect(page.getByRole('table', { name: 'Test accuracy of each run' }).getByRole('row', { name: /^Test accuracy/ })).toContainText(/\d+\.\d+%.*\d+\.\d+%/);
  await expect(page.getByRole('table', { name: 'Recall and precision per class of each run' }).locator('tbody tr')).toHaveCount(10);
  await checkA11y(page);
  await atBothSizes(page, 'admin-runs-compare');

  // The table, with the new run's numbers; the back button returns to the filter.
  await page.goBack();
  await expect(page).toHaveURL(/\?status=succeeded$/);
  await expect(row).toContainText(/\d+\.\d+%/);
  await checkA11y(page);
  await atBothSizes(page, 'admin-runs');
});
