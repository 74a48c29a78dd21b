// Browser tests: Playwright drives Debian's Chromium (no browser download on this machine) against
// the release binary with a throw-away database, started and awaited by `webServer`.
// scripts/test.sh copies target/release/hookline alone into an empty folder and names it in
// E2E_BINARY: the server runs from that folder, so the site can only come from the binary itself.
import { defineConfig } from '@playwright/test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const port = Number(process.env.E2E_PORT ?? 3900);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hookline-e2e-'));
const repoRoot = path.resolve(__dirname, '..');
const binary = path.resolve(repoRoot, process.env.E2E_BINARY ?? 'target/release/hookline');

export default defineConfig({
  testDir: './tests',
  // The tests share one server and build on each other (first admin, then sign-in, ...).
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    viewport: { width: 1280, height: 800 },
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    },
  },
  projects: [{ name: 'chromium', use: { browserName: 'chromium' } }],
  webServer: {
    command: `${binary} serve`,
    cwd: path.dirname(binary),
    url: `http://127.0.0.1:${port}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      HOOKLINE_ADDR: `127.0.0.1:${port}`,
      HOOKLINE_DATABASE_URL: `sqlite://${dataDir}/e2e.db`,
      // The tests' receivers listen on 127.0.0.1, which the SSRF guard refuses by default.
      HOOKLINE_ALLOWED_TARGETS: '127.0.0.1/32',
      HOOKLINE_RETRY_SCHEDULE: '0s,200ms,400ms',
      RUST_LOG: 'info,sqlx=warn',
    },
  },
});
