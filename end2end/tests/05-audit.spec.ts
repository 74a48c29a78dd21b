// Settings → Audit log: the sign-in just made is listed, newest first, and the action filter
// (a GET form) narrows the list, before and after hydration.
import { test, expect, signIn, waitForHydration, ADMIN } from './fixtures';

test('the audit log lists the sign-in and filters by action', async ({ page }) => {
  await signIn(page);
  await page.goto('/settings');
  await page.getByRole('link', { name: 'Open the audit log' }).click();
  await expect(page).toHaveURL(/\/settings\/audit$/);
  await expect(page.getByRole('heading', { name: 'Audit log' })).toBeVisible();

  const rows = page.getByTestId('audit').locator('tbody tr');
  const newest = rows.first();
  await expect(newest).toHaveAttribute('data-action', 'signin.succeeded');
  await expect(newest).toContainText(ADMIN.email);
  await expect(newest).toContainText('127.0.0.1');

  await waitForHydration(page);
  await page.getByLabel('Action').selectOption('signin.succeeded');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/action=signin\.succeeded/);
  await expect(rows.first()).toHaveAttribute('data-action', 'signin.succeeded');
  const actions = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-action')));
  expect(new Set(actions)).toEqual(new Set(['signin.succeeded']));

  // An actor nobody is: nothing matches.
  await page.getByLabel('Actor').fill('nobody@example.com');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page.getByText('No audit entries match.')).toBeVisible();
});
