// The delivery log, live: once hydrated, the page follows the server's change notices (Server-Sent
// Events, GET /api/admin/stream) and shows "live"; an event sent through the API appears as a new
// delivery without a reload, and while nothing changes the page does not refetch (no polling).
import { test, expect, signIn, waitForHydration, TestReceiver } from './fixtures';

test('a new delivery appears in the log without a reload, and the page says it is live', async ({ page, request, baseURL }) => {
  const receiver = new TestReceiver();
  const url = await receiver.start();
  try {
    await signIn(page);
    const headers = { Origin: baseURL! };
    const created = await page.request.post('/api/admin/webhooks', {
      headers,
      data: { url, events: ['feature-created'], description: 'Live receiver' },
    });
    expect(created.status()).toBe(201);
    const { id } = await created.json();

    // An intake token, as Unleash would hold it.
    const made = await page.request.post('/rpc/create_token', {
      headers: { ...headers, accept: 'application/json' },
      form: { name: 'live-e2e', 'scopes[]': 'events' },
    });
    expect(made.ok()).toBeTruthy();
    const { token } = await made.json();

    // Count the log's refetches (server function calls) from here on.
    let refetches = 0;
    page.on('request', (req) => {
      if (req.url().includes('/rpc/list_deliveries')) refetches++;
    });

    await page.goto(`/webhooks/${id}/deliveries`);
    await waitForHydration(page);
    const indicator = page.getByTestId('live-indicator');
    await expect(indicator).toHaveText('live');
    await expect(page.getByText('No deliveries match')).toBeVisible();

    // Quiet: nothing changes, so nothing is refetched (polling every 2 s would have done so).
    await page.waitForTimeout(500);
    const before = refetches;
    await page.waitForTimeout(3_000);
    expect(refetches, 'no polling while the stream is live').toBe(before);

    // A marker that a reload would lose.
    await page.evaluate(() => ((window as unknown as { liveMarker: number }).liveMarker = 42));
    const posted = await request.post('/api/events', {
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      data: { type: 'feature-created', featureName: 'live-flag', project: 'default', createdBy: 'e2e' },
    });
    expect(posted.status()).toBe(202);

    const row = page.getByTestId('deliveries').locator('tbody tr').filter({ hasText: 'live-flag' });
    await expect(row).toBeVisible({ timeout: 5_000 });
    await expect(row).toContainText('Succeeded', { timeout: 5_000 });
    expect(await page.evaluate(() => (window as unknown as { liveMarker?: number }).liveMarker)).toBe(42);
    await expect(indicator).toHaveText('live');
    expect(receiver.received.length).toBe(1);
  } finally {
    await receiver.stop();
  }
});
