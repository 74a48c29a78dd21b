// A receiver that keeps failing trips the circuit breaker: the webhook's page and the list say
// "Paused until …" with the last error, nothing more is sent to it, and "Resume now" lets the
// waiting delivery through once the receiver is back.
import { test, expect, signIn, waitForHydration, TestReceiver } from './fixtures';

test('a failing receiver pauses its webhook; Resume now sends what waited', async ({ page, request }) => {
  const receiver = new TestReceiver();
  const url = await receiver.start();
  receiver.status = 503;
  receiver.body = 'overloaded';
  try {
    await signIn(page);
    await page.goto('/webhooks/new');
    await waitForHydration(page);
    await page.getByLabel('Webhook URL').fill(url);
    await page.getByLabel('Description', { exact: true }).fill('Fragile receiver');
    // The default event types (feature-created among them), not "all": the other tests' webhooks
    // get paused too, and their hookline.webhook.paused notices would count as failures here.
    await expect(page.locator('input[name="form[events][]"][value="feature-created"]')).toBeChecked();
    await expect(page.locator('input[name="form[events][]"][value="hookline.webhook.paused"]')).not.toBeChecked();
    await page.getByRole('button', { name: 'Create webhook' }).click();
    await expect(page.getByText('Saved.')).toBeVisible();
    const webhookPage = page.url();

    await page.goto('/settings');
    await waitForHydration(page);
    await page.getByLabel('Token name').fill('breaker');
    await page.getByRole('button', { name: 'Create token' }).click();
    const token = (await page.getByTestId('new-token').textContent())!.trim();

    // Two events: each has four attempts under the e2e retry schedule (0s, 200ms, 400ms), eight
    // in all, and the breaker opens after five failures in a row, so one delivery must be left
    // waiting behind the pause.
    for (const id of [991001, 991002]) {
      const posted = await request.post('/api/events', {
        headers: { authorization: `Bearer ${token}` },
        data: { id, type: 'feature-created', createdBy: 'e2e', createdAt: '2026-12-03T10:00:00.000Z',
                data: { name: `breaker-${id}` }, featureName: `breaker-${id}`, project: 'default' },
      });
      expect(posted.status()).toBe(202);
    }

    await expect(async () => {
      await page.goto(webhookPage);
      await expect(page.getByTestId('paused')).toBeVisible({ timeout: 1_000 });
    }).toPass({ timeout: 20_000 });
    const paused = page.getByTestId('paused');
    await expect(paused).toContainText(/Paused until/);
    await expect(paused).toContainText('503');
    const ours = () => receiver.received.filter((r) => r.body.includes('"breaker-99100'));
    const sentWhilePaused = ours().length;
    expect(sentWhilePaused).toBeGreaterThanOrEqual(5);
    expect(sentWhilePaused).toBeLessThan(8);

    await page.goto('/webhooks');
    const row = page.locator('tr').filter({ hasText: 'Fragile receiver' });
    await expect(row).toContainText(/Paused until/);

    // Nothing goes to the receiver while the pause lasts (its cool-down is a minute).
    await page.waitForTimeout(1_000);
    expect(ours().length).toBe(sentWhilePaused);

    receiver.status = 200;
    receiver.body = 'ok';
    await page.goto(webhookPage);
    await waitForHydration(page);
    await page.getByRole('button', { name: 'Resume now' }).click();
    await expect(page.getByTestId('paused')).toHaveCount(0);
    // The delivery that waited goes out, and succeeds (its last attempt was still unspent).
    await expect.poll(() => ours().length, { timeout: 20_000 }).toBe(sentWhilePaused + 1);
  } finally {
    await receiver.stop();
  }
});
