// The demo's production build for the end-to-end tests and drills: built as `npm run build` builds it, into a
// temporary folder of its own (test files running side by side never share one), and served by `vite preview`.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright';
import { build, preview, type PluginOption, type PreviewServer } from 'vite';
import { expect } from 'vitest';

export const DEMO_CONFIG_FILE = fileURLToPath(new URL('../../vite.config.ts', import.meta.url));

/**
 * Builds the demo into a new temporary folder and returns it. Vitest runs with NODE_ENV=test, which would make Vite
 * build with `import.meta.env.PROD` false (and the demo registers its service worker only in production builds), so
 * the build runs with NODE_ENV=production.
 */
export async function buildDemo(options: { plugins?: PluginOption[]; label?: string } = {}): Promise<string> {
  const outDir = await mkdtemp(join(tmpdir(), `larder-demo-${options.label ?? 'build'}-`));
  const environment = process.env['NODE_ENV'];
  process.env['NODE_ENV'] = 'production';
  try {
    await build({ configFile: DEMO_CONFIG_FILE, logLevel: 'warn', plugins: options.plugins ?? [], build: { outDir, emptyOutDir: true } });
  } finally {
    process.env['NODE_ENV'] = environment;
  }
  return outDir;
}

/** Serves a build on 127.0.0.1 (`port` 0: any free port). */
export async function serveDemo(outDir: string, port = 0): Promise<{ server: PreviewServer; origin: string; port: number }> {
  const server = await preview({
    configFile: DEMO_CONFIG_FILE,
    logLevel: 'warn',
    build: { outDir },
    preview: { host: '127.0.0.1', port, strictPort: true, open: false },
  });
  const url = server.resolvedUrls?.local[0];
  if (url === undefined) throw new Error('vite preview did not report a local URL');
  return { server, origin: new URL(url).origin, port: Number(new URL(url).port) };
}

/**
 * Reports what must not happen in a page of the demo: console errors, uncaught errors, requests leaving the origin,
 * failed requests and HTTP errors.
 */
export function watchProblems(context: BrowserContext, origin: () => string, report: (problem: string) => void): void {
  context.on('console', (message) => {
    if (message.type() === 'error') report(`console error: ${message.text()}`);
    if (process.env['DEMO_DEBUG'] !== undefined) console.log(message.type(), message.text());
  });
  context.on('weberror', (error) => report(`uncaught: ${String(error.error())}`));
  context.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(origin()) && !/^(data|blob):/.test(url)) report(`request outside the origin: ${url}`);
  });
  context.on('requestfailed', (request) => report(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`));
  context.on('response', (response) => {
    if (response.status() >= 400) report(`HTTP ${response.status()}: ${response.url()}`);
  });
}

/** Waits until the demo is no longer busy, then expects it to say 'ready' (so a failure shows the page's error). */
export async function waitUntilReady(page: Page, timeoutMs: number): Promise<void> {
  await page.waitForFunction(() => document.getElementById('status')?.dataset['state'] !== 'busy', null, { timeout: timeoutMs });
  expect(await page.textContent('#status')).toBe('ready');
}
