// Shared test fixtures: every page fails its test on a console error, an uncaught exception or a
// failed request, unless the test declares the HTTP error it expects.
import { test as base, expect, Page } from '@playwright/test';

export const ADMIN = { email: 'admin@example.com', password: 'correct horse battery staple' };

type Guard = { allowStatus: (status: number) => void };

export const test = base.extend<{ guard: Guard }>({
  guard: [async ({ page }, use) => {
    const problems: string[] = [];
    const allowed = new Set<number>();
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const status = /status of (\d{3})/.exec(msg.text());
      if (status && allowed.has(Number(status[1]))) return;
      problems.push(`console error: ${msg.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`uncaught exception: ${err.message}`));
    page.on('requestfailed', (req) => {
      // The browser aborts whatever is still loading when the page navigates on (the test moves
      // faster than a person); that is not a failure. Anything else (refused, reset) is.
      if (req.failure()?.errorText === 'net::ERR_ABORTED') return;
      problems.push(`request failed: ${req.method()} ${req.url()} ${req.failure()?.errorText}`);
    });
    page.on('response', (res) => {
      if (res.status() >= 400 && !allowed.has(res.status())) {
        problems.push(`HTTP ${res.status()}: ${res.request().method()} ${res.url()}`);
      }
    });
    await use({ allowStatus: (status) => allowed.add(status) });
    expect(problems, 'no console errors or failed requests').toEqual([]);
  }, { auto: true }],
});

export { expect };

/** Waits until the WASM bundle has hydrated the page: the app sets data-hydrated on <html> from an
 *  effect, and effects only run in the browser once hydration is done. */
export async function waitForHydration(page: Page) {
  await page.waitForFunction(() => document.documentElement.dataset.hydrated === 'true', null, { timeout: 30_000 });
}

export async function signIn(page: Page, email = ADMIN.email, password = ADMIN.password) {
  await page.goto('/login');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Dashboard' })).toBeVisible();
}

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A webhook receiver on 127.0.0.1 whose answer the test controls. */
export class TestReceiver {
  status = 200;
  body = 'ok';
  received: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  private server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      this.received.push({ headers: req.headers, body });
      res.writeHead(this.status, { 'content-type': 'text/plain' });
      res.end(this.body);
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  async stop() {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // `close` waits for every open socket. Hookline keeps its connections to a receiver alive
    // (and a burst can leave one connected that never carried a request, which Node does not
    // count as idle), so without this a test's teardown waited out its 60 s limit.
    this.server.closeAllConnections();
    await closed;
  }
}
