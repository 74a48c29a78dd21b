// The first minutes of a new install: create the first admin, sign out, sign in, and prove the
// WASM bundle hydrates the server-rendered pages.
import { test, expect, ADMIN, signIn, waitForHydration } from './fixtures';
import * as path from 'node:path';

const screenshots = process.env.UPDATE_SCREENSHOTS ? path.resolve(__dirname, '../../docs/screenshots') : null;

test.describe.serial('foundation', () => {
  test('a new install asks for the first admin, once', async ({ page }) => {
    await page.goto('/');
    await expect(page).toHaveURL(/\/setup$/);
    await expect(page.getByRole('heading', { name: 'Create the first admin' })).toBeVisible();
    await waitForHydration(page);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Create admin and sign in' }).click();
    await expect(page.getByRole('heading', { name: 'Dashboard' })).toBeVisible();
    await expect(page.locator('.user-email')).toHaveText(ADMIN.email);
    if (screenshots) await page.screenshot({ path: `${screenshots}/dashboard-empty.png` });

    // The setup page is gone now.
    await page.goto('/setup');
    await expect(page).toHaveURL(/\/$/);
  });

  test('sign out, then sign in again', async ({ page }) => {
    await signIn(page);
    await waitForHydration(page);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page).toHaveURL(/\/login$/);
    await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();

    // A protected page sends us to sign in and back afterwards.
    await page.goto('/settings');
    await expect(page).toHaveURL(/\/login\?next=%2Fsettings$/);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('heading', { name: 'Settings' })).toBeVisible();
    await expect(page).toHaveURL(/\/settings$/);
  });

  test('the page hydrates: the password toggle only works with the WASM loaded', async ({ page }) => {
    await page.context().clearCookies();
    await page.goto('/login');
    const password = page.getByLabel('Password', { exact: true });
    await expect(password).toHaveAttribute('type', 'password');
    await waitForHydration(page);
    if (screenshots) await page.screenshot({ path: `${screenshots}/login.png` });
    await page.getByTestId('toggle-password').click();
    await expect(password).toHaveAttribute('type', 'text');
    await expect(page.getByTestId('toggle-password')).toHaveText('Hide');
    await page.getByTestId('toggle-password').click();
    await expect(password).toHaveAttribute('type', 'password');
  });

  test('the navigation works client-side after hydration', async ({ page }) => {
    await signIn(page);
    await waitForHydration(page);
    await page.getByRole('link', { name: 'Settings' }).click();
    await expect(page.getByRole('heading', { name: 'Admins' })).toBeVisible();
    await expect(page.getByRole('cell', { name: ADMIN.email })).toBeVisible();
  });
});
