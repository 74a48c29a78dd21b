// A receiver that keeps failing trips the circuit breaker: the webhook's page and the list say
// "Paused until …" with the last error, nothing more is sent to it, and "Resume now" lets the
// waiting deliveries through once the receiver is back.
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

    // Two events: each has three attempts under the e2e retry schedule (0s, 200ms, 400ms), six
    // in all, and the breaker opens after five failures in a row. Both deliveries retry in step,
    // so the sixth attempt may already be on its way when the fifth failure is recorded: after
    // these two, nothing may be left to wait. The third event, sent once the pause shows, is the
    // one that must wait.
    const post = async (id: number) => {
      const posted = await request.post('/api/events', {
        headers: { authorization: `Bearer ${token}` },
        data: { id, type: 'feature-created', createdBy: 'e2e', createdAt: '2026-12-03T10:00:00.000Z',
                data: { name: `breaker-${id}` }, featureName: `breaker-${id}`, project: 'default' },
      });
      expect(posted.status()).toBe(202);
    };
    await post(991001);
    await post(991002);

    await expect(async () => {
      await page.goto(webhookPage);
      await expect(page.getByTestId('paused')).toBeVisible({ timeout: 1_000 });
    }).toPass({ timeout: 20_000 });
    const paused = page.getByTestId('paused');
    await expect(paused).toContainText(/Paused until/);
    await expect(paused).toContainText('503');
    const sent = (id: number) => receiver.received.filter((r) => r.body.includes(`"breaker-${id}"`)).length;
    const ours = () => receiver.received.filter((r) => r.body.includes('"breaker-99100')).length;
    // An attempt claimed just before the pause was recorded may still be reaching the receiver.
    await page.waitForTimeout(500);
    const sentWhilePaused = ours();
    expect(sentWhilePaused).toBeGreaterThanOrEqual(5);
    expect(sentWhilePaused).toBeLessThanOrEqual(6);
    // Those of the first two deliveries with an attempt left wait too.
    const waitingBefore = [991001, 991002].filter((id) => sent(id) < 3).length;

    await page.goto('/webhooks');
    const row = page.locator('tr').filter({ hasText: 'Fragile receiver' });
    await expect(row).toContainText(/Paused until/);

    // Nothing goes to the receiver while the pause lasts (its cool-down is a minute), not even
    // a new event's first attempt. (Its id is below the first two: the ids after them went to
    // the pause notices.)
    await post(991000);
    await page.waitForTimeout(1_000);
    expect(ours()).toBe(sentWhilePaused);
    expect(sent(991000)).toBe(0);

    receiver.status = 200;
    receiver.body = 'ok';
    await page.goto(webhookPage);
    await waitForHydration(page);
    await page.getByRole('button', { name: 'Resume now' }).click();
    await expect(page.getByTestId('paused')).toHaveCount(0);
    // Every delivery that waited goes out once, and succeeds (each had an attempt unspent).
    await expect.poll(() => sent(991000), { timeout: 20_000 }).toBe(1);
    await expect.poll(ours, { timeout: 20_000 }).toBe(sentWhilePaused + 1 + waitingBefore);
  } finally {
    await receiver.stop();
  }
});
