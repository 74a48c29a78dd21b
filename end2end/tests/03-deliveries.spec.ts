// When a webhook fails: a test send to a broken receiver shows up as a failed row without a
// reload, the delivery says in words what went wrong, and Redeliver succeeds once it is fixed.
import { test, expect, signIn, waitForHydration, TestReceiver } from './fixtures';
import * as path from 'node:path';

const screenshots = process.env.UPDATE_SCREENSHOTS ? path.resolve(__dirname, '../../docs/screenshots') : null;

test('a failing receiver is diagnosed and the delivery redelivered', async ({ page, guard }) => {
  const receiver = new TestReceiver();
  const url = await receiver.start();
  receiver.status = 500;
  receiver.body = 'receiver down for maintenance';
  try {
    await signIn(page);
    await page.goto('/webhooks/new');
    await waitForHydration(page);
    await page.getByLabel('Webhook URL').fill(url);
    await page.getByLabel('Description', { exact: true }).fill('Flaky receiver');
    await page.getByRole('button', { name: 'Create webhook' }).click();
    await expect(page.getByText('Saved.')).toBeVisible();

    await page.getByRole('link', { name: 'Deliveries' }).last().click();
    await expect(page.getByRole('heading', { name: 'Send a test event' })).toBeVisible();
    await waitForHydration(page);
    await page.getByTestId('test-event-type').selectOption('feature-created');
    await page.getByRole('button', { name: 'Send test event' }).click();
    await expect(page.getByText('Test event queued')).toBeVisible();

    // The row appears and turns failed without reloading (a test send is a single attempt).
    const row = page.getByTestId('deliveries').locator('tbody tr').first();
    await expect(row).toContainText('Failed', { timeout: 20_000 });
    await expect(row).toHaveClass(/row-failed/);
    await expect(row).toContainText('500');

    await row.getByRole('link').first().click();
    await expect(page.getByRole('heading', { name: /Delivery #\d+/ })).toBeVisible();
    await expect(page.getByTestId('attempt-result').first()).toHaveText('The receiver answered HTTP 500 Internal Server Error');
    await expect(page.getByTestId('response-body').first()).toHaveText('receiver down for maintenance');
    await expect(page.getByTestId('state-details')).toHaveText('Webhook request failed with status code: 500.');
    if (screenshots) await page.screenshot({ path: `${screenshots}/delivery-failed.png`, fullPage: false });

    receiver.status = 200;
    receiver.body = 'thanks';
    await waitForHydration(page);
    await page.getByRole('button', { name: 'Redeliver' }).click();
    await expect(page.getByRole('heading', { name: /Delivery #\d+/ })).toContainText('Succeeded', { timeout: 20_000 });
    await expect(page.getByTestId('state-details')).toHaveText('Webhook request was successful with status code: 200.');
    const manual = page.getByTestId('attempt').first();
    await expect(manual).toContainText('manual');
    // The test attempt and the manual one, with the same webhook-id (the receiver's dedupe key).
    expect(receiver.received.length).toBe(2);
    expect(receiver.received[1].headers['webhook-id']).toBe(receiver.received[0].headers['webhook-id']);
  } finally {
    await receiver.stop();
  }
});

test('"Load more" appends older deliveries in place and pauses live updates', async ({ page, guard, baseURL }) => {
  const receiver = new TestReceiver();
  const url = await receiver.start();
  try {
    await signIn(page);
    // Set up through the JSON API with the page's session (the Origin check applies to it too).
    const headers = { Origin: baseURL! };
    const created = await page.request.post('/api/admin/webhooks', {
      headers,
      data: { url, events: ['feature-created'], description: 'Busy receiver' },
    });
    expect(created.status()).toBe(201);
    const { id } = await created.json();
    // One more than a page (50).
    for (let i = 0; i < 51; i++) {
      const sent = await page.request.post(`/api/admin/webhooks/${id}/test`, { headers, data: { eventType: 'feature-created' } });
      expect(sent.ok()).toBeTruthy();
    }

    await page.goto(`/webhooks/${id}/deliveries`);
    await waitForHydration(page);
    const rows = page.getByTestId('deliveries').locator('tbody tr');
    await expect(rows).toHaveCount(50);
    const newest = await rows.first().getAttribute('data-delivery-id');

    await page.getByRole('link', { name: 'Load more' }).click();
    await expect(rows).toHaveCount(51);
    // Appended below the first page, on the same URL (no navigation to ?before=…).
    expect(await rows.first().getAttribute('data-delivery-id')).toBe(newest);
    expect(Number(await rows.last().getAttribute('data-delivery-id'))).toBeLessThan(Number(newest));
    expect(page.url()).not.toContain('before=');
    await expect(page.getByRole('link', { name: 'Load more' })).toHaveCount(0);
    await expect(page.getByText('Live updates paused')).toBeVisible();

    await page.getByRole('button', { name: 'Back to live' }).click();
    await expect(rows).toHaveCount(50);
    await expect(page.getByRole('link', { name: 'Load more' })).toBeVisible();
  } finally {
    await receiver.stop();
  }
});
