// Browser tests: Playwright drives Debian's Chromium (no browser download on this machine) against
// a freshly built debug server with a throw-away database, started and awaited by `webServer`.
import { defineConfig } from '@playwright/test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const port = Number(process.env.E2E_PORT ?? 3900);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hookline-e2e-'));
const repoRoot = path.resolve(__dirname, '..');

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
    // E2E_BINARY=target/release/hookline runs the same tests against a `make build` release.
    command: `${path.resolve(repoRoot, process.env.E2E_BINARY ?? 'target/debug/hookline')} serve`,
    cwd: repoRoot,
    url: `http://127.0.0.1:${port}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      HOOKLINE_ADDR: `127.0.0.1:${port}`,
      HOOKLINE_DATABASE_URL: `sqlite://${dataDir}/e2e.db`,
      HOOKLINE_SITE_ROOT: `${repoRoot}/target/site`,
      // The tests' receivers listen on 127.0.0.1, which the SSRF guard refuses by default.
      HOOKLINE_ALLOWED_TARGETS: '127.0.0.1/32',
      HOOKLINE_RETRY_SCHEDULE: '0s,200ms,400ms',
      RUST_LOG: 'info,sqlx=warn',
    },
  },
});
