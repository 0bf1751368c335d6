import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import { CHROMIUM_ARGS, findChromium } from './scripts/chromium.mjs';
import { BROWSER_DEPS } from './vite.shared.ts';

const executablePath = findChromium();

export default defineConfig({
  optimizeDeps: { include: BROWSER_DEPS, exclude: ['@duckdb/duckdb-wasm', 'parquet-wasm'] },
  server: { host: '127.0.0.1' },
  test: {
    reporters: ['default', ['json', { outputFile: 'test-results/results.json' }]],
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          environment: 'node',
          include: ['test/**/*.node.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['test/**/*.browser.test.ts'],
          globalSetup: ['test/support/stream-servers.global.ts', 'test/support/s3.global.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          browser: {
            enabled: true,
            headless: true,
            provider: playwright({ launchOptions: { executablePath, args: CHROMIUM_ARGS } }),
            instances: [{ browser: 'chromium' }],
            api: { host: '127.0.0.1' },
            screenshotFailures: false,
          },
        },
      },
    ],
  },
});
