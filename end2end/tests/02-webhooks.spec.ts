// Configuring a webhook in the browser: the form, the live preview (computed in the browser, no
// request per keystroke), saving, the list, enabling and deleting.
import { test, expect, signIn, waitForHydration, TestReceiver } from './fixtures';
import * as path from 'node:path';

const screenshots = process.env.UPDATE_SCREENSHOTS ? path.resolve(__dirname, '../../docs/screenshots') : null;

test.describe.serial('webhooks', () => {
  test('the list invites creating the first webhook', async ({ page }) => {
    await signIn(page);
    await page.getByRole('link', { name: 'Webhooks' }).first().click();
    await expect(page.getByRole('heading', { name: 'No webhooks yet' })).toBeVisible();
    await page.getByRole('link', { name: 'Create your first webhook' }).click();
    await expect(page.getByRole('heading', { name: 'New webhook' })).toBeVisible();
  });

  test('the preview follows typing without asking the server', async ({ page }) => {
    await signIn(page);
    await page.goto('/webhooks/new');
    await waitForHydration(page);

    const requests: string[] = [];
    page.on('request', (req) => requests.push(`${req.method()} ${req.url()}`));

    const editor = page.getByTestId('template-editor');
    await editor.fill('');
    await editor.pressSequentially('{"text": "{{event.type}} by {{event.createdBy}}"}');
    await expect(page.getByTestId('preview-body')).toContainText('"text": "feature-created by user@example.com"');
    await expect(page.getByTestId('preview-status')).toHaveText('Valid JSON');

    // Break the JSON: the badge says where.
    await editor.pressSequentially(',');
    await expect(page.getByTestId('preview-status')).toContainText('not valid JSON');
    await expect(page.getByTestId('preview-status')).toContainText('line 1, column');
    // An unclosed section: the template error with its position.
    await editor.fill('{{#event.data}}');
    await expect(page.getByTestId('preview-status')).toContainText('unclosed section `event.data`');
    await expect(page.getByTestId('preview-status')).toContainText('(line 1, column 1)');

    expect(requests, 'typing made no request').toEqual([]);

    // Subscribe to strategy events (filter, then "select all" of the group) and preview one.
    await page.getByLabel('Filter event types').fill('strategy');
    await page.locator('fieldset.event-group', { hasText: 'Strategies' }).getByRole('button', { name: 'Select all' }).click();
    await expect(page.getByTestId('selected-count')).toHaveText('4 of 69 selected');
    await page.getByTestId('sample-select').selectOption('feature-strategy-update');
    await editor.fill('{{event.type}}: {{event.data.name}} ');
    await expect(page.getByTestId('preview-body')).toHaveText('feature-strategy-update: flexibleRollout ');
    // The sample's fields can be inserted with a click.
    await expect(page.getByTestId('field-chips')).toContainText('event.data.parameters.rollout');
    await page.getByTestId('field-chips').getByRole('button', { name: 'event.data.parameters.rollout', exact: true }).click();
    await expect(editor).toHaveValue(/\{\{event\.data\.parameters\.rollout\}\}/);
    await expect(page.getByTestId('preview-body')).toContainText('feature-strategy-update: flexibleRollout 50');
    expect(requests, 'still no request').toEqual([]);
  });

  test('a webhook is created, listed, edited without unmasking secrets, switched off and deleted', async ({ page, guard }) => {
    const receiver = new TestReceiver();
    const url = await receiver.start();
    try {
      await signIn(page);
      await page.goto('/webhooks/new');
      await waitForHydration(page);
      await page.getByLabel('Webhook URL').fill(url);
      await page.getByLabel('Description', { exact: true }).fill('Slack #releases');
      await page.getByLabel('Authorization header').fill('Bearer s3cret');
      await page.getByLabel('Header name').first().fill('X-Team');
      await page.getByLabel('Header value').first().fill('checkout');
      await page.getByRole('button', { name: '+ Add header' }).click();
      await expect(page.getByLabel('Header name')).toHaveCount(2);
      await page.getByTestId('template-editor').fill('{"text": "{{eventMarkdown}}"}');
      if (screenshots) await page.locator('section.card').filter({ hasText: 'Body template' }).screenshot({ path: `${screenshots}/webhook-preview.png` });

      // A field error first: no events subscribed.
      const event = (name: string) => page.locator(`input[name="form[events][]"][value="${name}"]`);
      await event('feature-created').uncheck();
      guard.allowStatus(422);
      await page.getByRole('button', { name: 'Create webhook' }).click();
      await expect(page.getByText('choose at least one event type')).toBeVisible();

      // Two groups, each partly selected.
      await event('feature-created').check();
      await event('feature-archived').check();
      await event('feature-strategy-add').check();
      await expect(page.getByTestId('selected-count')).toHaveText('3 of 69 selected');
      if (screenshots) await page.screenshot({ path: `${screenshots}/webhook-form.png` });
      await page.getByRole('button', { name: 'Create webhook' }).click();
      await expect(page.getByText('Saved.')).toBeVisible();
      await expect(page).toHaveURL(/\/webhooks\/\d+\?saved=\d+$/);
      await expect(page.getByRole('heading', { name: /Slack #releases/ })).toBeVisible();
      // Secrets come back masked.
      await expect(page.getByLabel('Authorization header')).toHaveValue('*****');
      await expect(page.getByLabel('Webhook URL')).toHaveValue(/^http:\/\/127\.0\.0\.1:\d+\/\*\*\*\*\*$/);
      await expect(page.getByLabel('Header value').first()).toHaveValue('*****');

      // Edit the description only: the masked values are saved back and keep the stored ones.
      await waitForHydration(page);
      await page.getByLabel('Description', { exact: true }).fill('Slack #deploys');
      await page.getByRole('button', { name: 'Save changes' }).click();
      await expect(page.getByRole('heading', { name: /Slack #deploys/ })).toBeVisible();
      await expect(page.getByLabel('Authorization header')).toHaveValue('*****');
      await expect(event('feature-strategy-add')).toBeChecked();
      // Proof they are unchanged: a test delivery carries the real values.
      await page.getByRole('link', { name: 'Deliveries' }).last().click();
      await waitForHydration(page);
      await page.getByRole('button', { name: 'Send test event' }).click();
      await expect.poll(() => receiver.received.length, { timeout: 15_000 }).toBe(1);
      expect(receiver.received[0].headers['authorization']).toBe('Bearer s3cret');
      expect(receiver.received[0].headers['x-team']).toBe('checkout');
      expect(JSON.parse(receiver.received[0].body).text).toContain('created');

      await page.getByRole('link', { name: '← Webhooks' }).click();
      const row = page.getByTestId('webhooks').getByRole('row', { name: /Slack #deploys/ });
      await expect(row).toContainText('127.0.0.1');
      await expect(row).toContainText('3 event types');
      await expect(row).toContainText('Succeeded');
      if (screenshots) await page.screenshot({ path: `${screenshots}/webhooks-list.png` });
      const toggle = row.getByRole('switch');
      await expect(toggle).toHaveAttribute('aria-checked', 'true');
      await toggle.click();
      await expect(page.getByTestId('webhooks').getByRole('row', { name: /Slack #deploys/ }).getByRole('switch')).toHaveAttribute('aria-checked', 'false');

      await page.getByTestId('webhooks').getByRole('link', { name: 'Slack #deploys' }).click();
      await expect(page.getByRole('heading', { name: /Slack #deploys/ })).toBeVisible();
      await expect(page.getByText('Disabled', { exact: true })).toBeVisible();
      page.once('dialog', (dialog) => dialog.accept());
      await page.getByRole('button', { name: 'Delete' }).click();
      await expect(page).toHaveURL(/\/webhooks$/);
      await expect(page.getByRole('heading', { name: 'No webhooks yet' })).toBeVisible();
    } finally {
      await receiver.stop();
    }
  });

  test('a save over someone else\'s newer save is refused with who changed it', async ({ page }) => {
    await signIn(page);
    await page.goto('/webhooks/new');
    await waitForHydration(page);
    await page.getByLabel('Webhook URL').fill('http://127.0.0.1:9/hook');
    await page.getByLabel('Description', { exact: true }).fill('Shared hook');
    await page.getByRole('button', { name: 'Create webhook' }).click();
    await expect(page.getByText('Saved.')).toBeVisible();
    const address = page.url().replace(/\?.*$/, '');

    // A second tab opens the same version.
    const other = await page.context().newPage();
    await other.goto(address);
    await waitForHydration(other);
    await waitForHydration(page);

    await page.getByLabel('Description', { exact: true }).fill('Edited in the first tab');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await expect(page.getByRole('heading', { name: /Edited in the first tab/ })).toBeVisible();

    await other.getByLabel('Description', { exact: true }).fill('Edited in the second tab');
    await other.getByRole('button', { name: 'Save changes' }).click();
    await expect(other.getByText(/changed by admin@example\.com .* reload it/)).toBeVisible();
    await other.reload();
    await expect(other.getByLabel('Description', { exact: true })).toHaveValue('Edited in the first tab');
    await other.close();

    page.once('dialog', (dialog) => dialog.accept());
    await page.getByRole('button', { name: 'Delete' }).click();
    await expect(page).toHaveURL(/\/webhooks$/);
  });

  test('a missing webhook says so in words, with HTTP 404, before and after hydration', async ({ page, guard }) => {
    guard.allowStatus(404);
    await signIn(page);
    const response = await page.goto('/webhooks/999999');
    expect(response?.status()).toBe(404);
    const error = page.getByTestId('load-error');
    await expect(error).toContainText('Not found');
    await expect(error).toContainText('webhook 999999 not found');
    await waitForHydration(page);
    await expect(error).toContainText('webhook 999999 not found');
    await error.getByRole('link', { name: 'Go to the dashboard' }).click();
    await expect(page.getByRole('heading', { name: 'Dashboard' })).toBeVisible();
  });
});
