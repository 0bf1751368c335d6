import { mkdtemp, rm } from 'node:fs/promises';
import { afterAll, beforeAll } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type ViteDevServer } from 'vite';
import { chromium, type BrowserContext, type Page } from 'playwright';
import { CHROMIUM_ARGS, findChromium } from '../../scripts/chromium.mjs';
import { BROWSER_DEPS } from '../../vite.shared.ts';
import type * as Larder from '../../src/index.ts';
import type * as Tf from '@tensorflow/tfjs';

declare global {
  interface Window {
    /** The library, as the harness page exposes it. */
    larder: typeof Larder;
    tf: typeof Tf;
  }
}

/** A Vite dev server for the harness page, which exposes the library as `window.larder`. */
export async function startHarnessServer(): Promise<{ server: ViteDevServer; url: string }> {
  const server = await createServer({
    configFile: false,
    root: process.cwd(),
    logLevel: 'error',
    // No watcher and no HMR: an edit to src/ while e2e tests run must not reload the page under a test.
    server: { host: '127.0.0.1', port: 0, hmr: false, watch: null },
    // Scan only the harness page (the demo and bench pages have their own configs).
    optimizeDeps: { entries: ['test/e2e/harness/index.html'], include: BROWSER_DEPS, exclude: ['@duckdb/duckdb-wasm', 'parquet-wasm'] },
    worker: { format: 'es' },
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (address === null || address === undefined || typeof address === 'string') throw new Error('no server address');
  return { server, url: `http://127.0.0.1:${address.port}/test/e2e/harness/index.html` };
}

/** A Chromium profile on disk, so storage (OPFS, IndexedDB) survives reloads and browser restarts. */
export class PersistentBrowser {
  private constructor(readonly profile: string) {}
  context: BrowserContext | null = null;

  static async create(): Promise<PersistentBrowser> {
    return new PersistentBrowser(await mkdtemp(join(tmpdir(), 'larder-profile-')));
  }

  async launch(): Promise<BrowserContext> {
    this.context = await chromium.launchPersistentContext(this.profile, {
      executablePath: findChromium(),
      args: CHROMIUM_ARGS,
      headless: true,
    });
    return this.context;
  }

  async open(url: string): Promise<Page> {
    if (this.context === null) throw new Error('launch first');
    const page = await this.context.newPage();
    await page.goto(url);
    await waitReady(page);
    return page;
  }

  async close(): Promise<void> {
    await this.context?.close();
    this.context = null;
  }

  async dispose(): Promise<void> {
    await this.close();
    await rm(this.profile, { recursive: true, force: true });
  }
}

/** Waits until the harness page has loaded the library. */
export async function waitReady(page: Page): Promise<void> {
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
}

/**
 * For one test file: the harness server and a Chromium with a profile on disk, started before its tests and disposed
 * after them. Read `url` and `browser` inside tests (they are set once the setup ran).
 */
export function useHarness(): { readonly url: string; readonly browser: PersistentBrowser } {
  let server: ViteDevServer | undefined;
  const state = { url: '', browser: undefined as PersistentBrowser | undefined };
  beforeAll(async () => {
    let url: string;
    ({ server, url } = await startHarnessServer());
    state.url = url;
    state.browser = await PersistentBrowser.create();
    await state.browser.launch();
  });
  afterAll(async () => {
    await state.browser?.dispose();
    await server?.close();
  });
  return {
    get url() {
      return state.url;
    },
    get browser() {
      if (state.browser === undefined) throw new Error('the harness is not started yet');
      return state.browser;
    },
  };
}
