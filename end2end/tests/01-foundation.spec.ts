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

  test('an API token gets the scopes ticked, events by default', async ({ page }) => {
    await signIn(page);
    await page.goto('/settings');
    await waitForHydration(page);
    const events = page.getByRole('checkbox', { name: /^events/ });
    const read = page.getByRole('checkbox', { name: /^read/ });
    await expect(events).toBeChecked();
    await expect(read).not.toBeChecked();
    await page.getByLabel('Token name').fill('dashboards');
    await events.uncheck();
    await read.check();
    await page.getByRole('button', { name: 'Create token' }).click();
    await expect(page.getByTestId('new-token')).toHaveText(/^hl_/);
    const row = page.getByRole('row', { name: /dashboards/ });
    await expect(row.getByTestId('token-scopes')).toHaveText('read');
  });
});

// The release binary carries the site (scripts/test.sh runs it alone from an empty folder): the
// pages link to bundles named by their hash, served compressed and cached for good.
test('the binary serves its own site: hashed, compressed, cacheable bundles', async ({ page, request }) => {
  await page.goto('/login');
  await waitForHydration(page);
  const html = await (await request.get('/login')).text();
  const js = /<link rel="modulepreload" href="(\/pkg\/hookline\.[0-9a-f]{12}\.js)"/.exec(html)?.[1];
  const wasm = /<link rel="preload" href="(\/pkg\/hookline\.[0-9a-f]{12}\.wasm)"/.exec(html)?.[1];
  const css = /<link rel="stylesheet" href="(\/pkg\/hookline\.[0-9a-f]{12}\.css)"/.exec(html)?.[1];
  expect([js, wasm, css].every(Boolean), `hashed bundle links in ${html.slice(0, 600)}`).toBe(true);

  const hashed = await request.get(wasm!, { headers: { 'accept-encoding': 'br, gzip' } });
  expect(hashed.status()).toBe(200);
  expect(hashed.headers()['content-type']).toBe('application/wasm');
  expect(hashed.headers()['content-encoding']).toBe('br');
  expect(hashed.headers()['cache-control']).toContain('immutable');
  // The body arrives decompressed: a WASM module starts with "\0asm".
  expect((await hashed.body()).subarray(0, 4).toString('latin1')).toBe('\0asm');

  const gz = await request.get(js!, { headers: { 'accept-encoding': 'gzip' } });
  expect(gz.headers()['content-encoding']).toBe('gzip');
  expect(gz.headers()['content-type']).toContain('text/javascript');

  const plain = await request.get('/pkg/hookline.css', { headers: { 'accept-encoding': 'identity' } });
  expect(plain.headers()['cache-control']).toBe('no-cache');
  expect(plain.headers()['content-encoding']).toBeUndefined();
  const etag = plain.headers()['etag'];
  expect(etag).toMatch(/^"[0-9a-f]{16}"$/);
  const again = await request.get('/pkg/hookline.css', { headers: { 'if-none-match': etag } });
  expect(again.status()).toBe(304);
});
