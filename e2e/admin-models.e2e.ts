import { expect, test } from '@playwright/test';
import { atBothSizes, checkA11y, openAdmin } from './admin-helpers';
import { classify, testImages } from './pwa-helpers';
import { E2E_MODEL } from './start-hub';

const MODEL_PAGE = `#/${E2E_MODEL.project}/models/${E2E_MODEL.model}`;

test('the models page shows versions with sizes, the gate, files that download, channels and their history, and a promote that names its target', async ({ page, request }) => {
  await openAdmin(page, MODEL_PAGE);
  const version = page.getByRole('article', { name: 'v1' });
  await expect(version).toBeVisible();
  await expect(page.getByText('production → v1')).toBeVisible();
  // Sizes, accuracy and the gate's verdict per encoding; the run it came from.
  const encodings = version.getByRole('table', { name: 'Encodings of v1' });
  await expect(encodings.getByRole('rowheader')).toHaveCount(3);
  await expect(encodings.getByRole('row', { name: /^float32/ })).toContainText(/\d+(\.\d)? KiB/);
  await expect(encodings.getByRole('row', { name: /^float32/ })).toContainText('published (the reference)');
  await expect(encodings.getByRole('row', { name: /^uint8/ })).toContainText(/\d+\.\d\d%/);
  await expect(version.getByRole('link', { name: /^[0-9a-f]{8}$/ })).toHaveAttribute('href', /^#\/fashion-mnist\/runs\/[0-9a-f-]{36}$/);
  await expect(page.getByRole('region', { name: 'Channel history' })).toContainText(/promote production v1: e2e model/);

  // Download links answer with the files.
  const manifest = await request.get((await version.getByRole('link', { name: 'Download manifest' }).getAttribute('href'))!);
  expect(manifest.status()).toBe(200);
  expect(await manifest.json()).toHaveProperty('signature');
  await version.getByRole('button', { name: 'All files' }).click();
  const shard = version.getByRole('region', { name: 'Files of v1' }).getByRole('link', { name: /^uint8 shard 1 of/ });
  const shardResponse = await request.get((await shard.getAttribute('href'))!);
  expect(shardResponse.status()).toBe(200);
  expect((await shardResponse.body()).length).toBeGreaterThan(1000);

  // Production already runs v1: promoting it there again is offered no more.
  await expect(version.getByRole('button', { name: 'Promote v1 to production' })).toBeDisabled();
  await checkA11y(page);
  await atBothSizes(page, 'admin-models');

  // Another channel: the button names it, and the confirmation says what will change.
  await page.getByLabel('Another channel').fill('staging');
  await page.getByRole('button', { name: 'Use it' }).click();
  await expect(page).toHaveURL(/\?channel=staging$/);
  await version.getByRole('button', { name: 'Promote v1 to staging' }).click();
  const confirm = page.getByRole('dialog', { name: 'Promote v1 to staging' });
  await expect(confirm).toContainText('Point staging to v1 for every device? It points to no version yet.');
  await expect(confirm.getByRole('button', { name: 'Promote v1 to staging' })).toBeDisabled(); // a reason is required
  await confirm.getByLabel('Reason').fill('staging for the e2e devices');
  await checkA11y(page);
  await confirm.getByRole('button', { name: 'Promote v1 to staging' }).click();
  await expect(confirm).toBeHidden();
  await expect(page.getByText('staging → v1')).toBeVisible();
  await expect(page.getByRole('region', { name: 'Channel history' })).toContainText(/promote staging v1: staging for the e2e devices/);
  await expect(version.getByText('staging', { exact: true })).toBeVisible(); // the card says where it runs
});

test('an admin creates a token (its secret shown once), finds it in the list, revokes it, and the hub refuses it', async ({ page, request }) => {
  await openAdmin(page, `#/${E2E_MODEL.project}/devices`);
  const tokens = page.getByRole('region', { name: 'API tokens' });
  await tokens.getByLabel('Token name').fill('e2e-ci-token');
  await tokens.getByLabel('Token role').selectOption('ci');
  await expect(tokens.getByRole('checkbox', { name: E2E_MODEL.project })).toBeChecked();
  await tokens.getByRole('button', { name: 'Create token' }).click();
  const secret = await page.getByLabel('Secret of the new token').inputValue();
  expect(secret).toMatch(/^elt_/);
  const whoami = () => request.get('/trpc/auth.whoami', { headers: { authorization: `Bearer ${secret}` } });
  expect((await (await whoami()).json()).result.data).toEqual({ name: 'e2e-ci-token', role: 'ci', projects: [E2E_MODEL.project] });

  const row = tokens.getByRole('table', { name: 'Tokens' }).getByRole('row', { name: /^e2e-ci-token/ });
  await expect(row).toContainText('ci');
  await expect(row).toContainText(E2E_MODEL.project);
  await tokens.getByRole('button', { name: 'Done, hide it' }).click();
  await expect(page.getByLabel('Secret of the new token')).toHaveCount(0); // shown once: gone for good

  await row.getByRole('button', { name: 'Revoke e2e-ci-token' }).click();
  const confirm = page.getByRole('dialog', { name: 'Revoke e2e-ci-token?' });
  await expect(confirm).toContainText('refused from now on');
  await confirm.getByRole('button', { name: 'Revoke e2e-ci-token' }).click();
  await expect(row.getByRole('button', { name: 'Revoke e2e-ci-token' })).toHaveCount(0);
  await expect(row).not.toContainText('never'); // listed again after the revocation: used once, above
  expect((await whoami()).status()).toBe(401);
  await tokens.getByLabel('Show').selectOption('revoked');
  await expect(page).toHaveURL(/tokens=revoked/);
  await expect(tokens.getByRole('table', { name: 'Tokens' })).toContainText('e2e-ci-token');
});

test('a device link is copied and shown as a QR code; the device it opens shows under devices seen with its latency', async ({ page, context }) => {
  test.setTimeout(120_000);
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await openAdmin(page, `#/${E2E_MODEL.project}/devices`);
  await page.getByLabel('Model', { exact: true }).selectOption(E2E_MODEL.model);
  await page.getByLabel('Device role').selectOption('device');
  await page.getByLabel('Device name').fill('e2e-shop-tablet');
  await page.getByRole('button', { name: 'Create a link with a new token' }).click();
  const link = await page.getByLabel('Device link').inputValue();
  expect(link).toContain('token=elt_');
  await page.getByRole('button', { name: 'Copy link' }).click();
  await expect(page.getByText('Copied.')).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(link);
  // The QR code holds the secret: hidden until asked for.
  await expect(page.getByRole('img', { name: /^QR code of/ })).toHaveCount(0);
  await page.getByRole('button', { name: 'Show QR code' }).click();
  await expect(page.getByRole('img', { name: 'QR code of the device link for e2e-shop-tablet (device, fashion-cnn)' })).toBeVisible();
  await checkA11y(page);

  const device = await context.newPage();
  await device.goto(link);
  await expect(device.getByLabel('App status')).toHaveText('ready', { timeout: 30_000 });
  for (const image of await testImages(['Trouser', 'Sneaker'], 2)) await classify(device, image);
  await device.close();

  const seen = page.getByRole('region', { name: 'Devices seen' });
  const row = seen.getByRole('table', { name: 'Devices' }).getByRole('row', { name: /e2e-shop-tablet/ });
  await expect(async () => {
    await seen.getByRole('button', { name: 'Refresh' }).click();
    await expect(row).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 20_000 });
  await expect(row.getByRole('cell').nth(1)).toHaveText('4'); // predictions
  await expect(row).toContainText(`${E2E_MODEL.model} v1`);
  await expect(row.getByRole('img', { name: /^Latency of .*: 4 predictions, p50 [\d.]+ m?s, p95/ })).toBeVisible();
  await expect(seen.getByRole('img', { name: /^Latency of every device: \d+ predictions/ })).toBeVisible();
  // Filtered by a backend it used: still listed, and the filter is in the address.
  const used = (await row.getByRole('cell').nth(3).textContent())!.split(', ');
  await seen.getByLabel('Backend').selectOption(used[0]!);
  await expect(page).toHaveURL(new RegExp(`backend=${used[0]}`));
  await expect(row).toBeVisible();
  await checkA11y(page);
  await atBothSizes(page, 'admin-devices');
});
