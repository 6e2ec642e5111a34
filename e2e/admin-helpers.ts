/** How the e2e tests open the admin: signed in with the bootstrap token, straight at a page's address. */
import AxeBuilder from '@axe-core/playwright';
import { type Page, expect } from '@playwright/test';

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** Opens `/admin/<hash>` signed in (the token the admin remembers after a sign-in), and waits for the page to show who is signed in. */
export async function openAdmin(page: Page, hash = '#/', token = process.env.EDGELOOP_E2E_TOKEN!): Promise<void> {
  await page.addInitScript((remembered) => localStorage.setItem('edgeloop.token', remembered), token);
  await page.goto(`/admin/${hash}`);
  await expect(page.getByText(/^Signed in as /)).toBeVisible();
}

/** An accessibility check of what the page shows now (WCAG 2 A/AA rules): no violation, each listed by rule and element if any. */
export async function checkA11y(page: Page): Promise<void> {
  const { violations } = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const found = violations.map((v) => `${v.id} (${v.impact}): ${v.help}\n  ${v.nodes.slice(0, 5).map((n) => n.target.join(' ')).join('\n  ')}`);
  expect(found, 'accessibility violations').toEqual([]);
}

/** Screenshots of the page at desktop and phone size (test-results/<name>-desktop.png, -phone.png); at phone size nothing may stick out sideways. */
export async function atBothSizes(page: Page, name: string): Promise<void> {
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: `test-results/${name}-desktop.png`, fullPage: true });
  await page.setViewportSize(PHONE);
  await page.screenshot({ path: `test-results/${name}-phone.png`, fullPage: true });
  // What sticks out, named, so a failure says where to look.
  const wide = await page.evaluate(() =>
    [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.scroll, nav'))
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}${e.className ? `.${String(e.className).split(' ')[0]}` : ''} "${(e.textContent ?? '').trim().slice(0, 40)}"`),
  );
  expect(wide, 'elements wider than a phone').toEqual([]);
  await page.setViewportSize(DESKTOP);
}
