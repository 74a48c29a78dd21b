// Hookline as a drop-in for Unleash's webhook addon: an event type newer than the catalog is
// accepted, listed in the event log as "not in catalog", and delivered to a webhook that takes
// all events (ticked in the form), byte for byte as it was posted.
import { test, expect, signIn, waitForHydration, TestReceiver } from './fixtures';

test('an event type outside the catalog reaches an "all events" webhook and the event log', async ({ page, request }) => {
  const receiver = new TestReceiver();
  const url = await receiver.start();
  try {
    await signIn(page);
    await page.goto('/webhooks/new');
    await waitForHydration(page);
    await page.getByLabel('Webhook URL').fill(url);
    await page.getByLabel('Description', { exact: true }).fill('Everything');
    await page.getByTestId('all-events').check();
    await expect(page.getByTestId('selected-count')).toHaveText('All event types, including new ones');
    await page.getByRole('button', { name: 'Create webhook' }).click();
    await expect(page.getByText('Saved.')).toBeVisible();

    // An intake token, as an operator would create it for Unleash.
    await page.goto('/settings');
    await waitForHydration(page);
    await page.getByLabel('Token name').fill('unleash');
    await page.getByRole('button', { name: 'Create token' }).click();
    const token = (await page.getByTestId('new-token').textContent())!.trim();

    const body =
      '{"id":990001,"type":"feature-dependency-added","createdBy":"admin","createdAt":"2025-06-02T09:15:31.418Z",' +
      '"data":{"feature":"demo-flag","dependency":{"feature":"parent-flag","enabled":true}},"featureName":"demo-flag","project":"default","environment":"production","groupType":"transaction"}';
    const posted = await request.post('/api/events', {
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      data: body,
    });
    expect(posted.status()).toBe(202);
    await expect.poll(() => receiver.received.length, { timeout: 20_000 }).toBe(1);
    expect(receiver.received[0].body).toBe(body);

    await page.goto('/events');
    const row = page.getByTestId('events').locator('tbody tr').filter({ hasText: 'feature-dependency-added' });
    await expect(row).toContainText('not in catalog');
    await expect(row).toContainText('Everything');
  } finally {
    await receiver.stop();
  }
});

test('Connect Unleash gives the values to paste and shows events as they arrive', async ({ page, request }) => {
  await signIn(page);
  await page.getByRole('link', { name: 'Connect Unleash' }).click();
  await expect(page.getByRole('heading', { name: 'Connect Unleash' })).toBeVisible();
  await expect(page.getByTestId('intake-url')).toHaveText(/^http:\/\/127\.0\.0\.1:\d+\/api\/events$/);
  await expect(page.getByText('UNLEASH_ALLOW_PRIVATE_URL_IN_INTEGRATION=true')).toBeVisible();
  await waitForHydration(page);

  await page.getByRole('button', { name: 'Create an intake token' }).click();
  const authorization = (await page.getByTestId('unleash-authorization').textContent())!.trim();
  expect(authorization).toMatch(/^Bearer \S+$/);

  // What Unleash would post with those values; the status follows without a reload.
  const url = (await page.getByTestId('intake-url').textContent())!.trim();
  const posted = await request.post(url, {
    headers: { authorization, 'content-type': 'application/json' },
    data: { type: 'feature-created', featureName: 'connect-check-flag', project: 'default', createdBy: 'admin' },
  });
  expect(posted.status()).toBe(202);
  await expect(page.getByTestId('unleash-status')).toContainText('connect-check-flag', { timeout: 15_000 });
  await expect(page.getByTestId('unleash-status')).toContainText('Receiving');

  // The token can post events and nothing else.
  const denied = await request.get(url.replace('/api/events', '/api/admin/webhooks'), { headers: { authorization } });
  expect(denied.status()).toBe(403);
});
