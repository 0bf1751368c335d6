// End-to-end: builds the demo with Vite, serves dist-demo, and drives it in Debian's Chromium with a fresh profile.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { CHROMIUM_ARGS, findChromium } from '../../scripts/chromium.mjs';

const CONFIG_FILE = fileURLToPath(new URL('../../vite.config.ts', import.meta.url));
const WEATHER_ROWS = 2922;
const READY_TIMEOUT_MS = 60_000;

let server: PreviewServer | undefined;
let context: BrowserContext | undefined;
let profile: string | undefined;
let origin = '';
/** Console errors, uncaught errors, failed requests and requests leaving the origin, since the test began. */
let problems: string[] = [];
let page: Page | undefined;

function watch(browser: BrowserContext): void {
  browser.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  browser.on('weberror', (error) => problems.push(`uncaught: ${String(error.error())}`));
  browser.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(origin) && !/^(data|blob):/.test(url)) problems.push(`request outside the origin: ${url}`);
  });
  browser.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`));
  browser.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
  });
}

/** Waits until the demo is no longer busy, then expects it to say 'ready' (so a failure shows the page's error). */
async function waitUntilReady(p: Page): Promise<void> {
  await p.waitForFunction(() => document.getElementById('status')?.dataset['state'] !== 'busy', null, {
    timeout: READY_TIMEOUT_MS,
  });
  expect(await p.textContent('#status')).toBe('ready');
}

async function openDemo(): Promise<Page> {
  page = await context!.newPage();
  await page.goto(origin);
  await waitUntilReady(page);
  return page;
}

async function commitRows(p: Page): Promise<{ id: string; rows: string; batch: string; success: string | null }[]> {
  return p.$$eval('#commits [data-testid="commit"]', (rows) =>
    rows.map((row) => ({
      id: row.querySelector('[data-field="id"]')?.textContent ?? '',
      rows: row.querySelector('[data-field="rows"]')?.textContent ?? '',
      batch: row.querySelector('[data-field="batch"]')?.textContent ?? '',
      success: row.querySelector('[data-field="validation"]')?.getAttribute('data-success') ?? null,
    })),
  );
}

function locations(p: Page): Promise<string[]> {
  return p.$$eval('#rows tbody td[data-column="location"]', (cells) => cells.map((c) => c.textContent ?? ''));
}

function statistic(p: Page, column: string, name: string): Promise<string | null> {
  return p.textContent(`#stats tr[data-column="${column}"] [data-stat="${name}"]`);
}

beforeAll(async () => {
  await build({ configFile: CONFIG_FILE, logLevel: 'warn' });
  server = await preview({
    configFile: CONFIG_FILE,
    logLevel: 'warn',
    preview: { host: '127.0.0.1', port: 0, strictPort: true, open: false },
  });
  const url = server.resolvedUrls?.local[0];
  if (url === undefined) throw new Error('vite preview did not report a local URL');
  origin = new URL(url).origin;
  profile = await mkdtemp(join(tmpdir(), 'larder-demo-e2e-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: findChromium(),
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: { width: 1280, height: 900 },
  });
  watch(context);
  // Every Content-Security-Policy violation of the page and its workers' documents, as the page sees them.
  await context.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { cspViolations: string[] }).cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (event) => seen.push(`${event.violatedDirective} ${event.blockedURI}`));
  });
});

afterAll(async () => {
  await context?.close();
  await server?.close();
  if (profile !== undefined) await rm(profile, { recursive: true, force: true });
});

beforeEach(() => {
  problems = [];
});

afterEach(async () => {
  await page?.close();
  page = undefined;
});

describe('the demo, built and served', () => {
  test('imports weather.csv into weather v1 and shows its schema, commit, rows and statistics', async () => {
    const p = await openDemo();

    expect(await p.textContent('#group-name')).toBe('weather v1');
    expect(await p.$$eval('#schema tbody tr', (rows) => rows.map((r) => r.getAttribute('data-column')))).toEqual([
      'location', 'date', 'precipitation', 'temp_max', 'temp_min', 'wind', 'weather',
    ]);

    const commits = await commitRows(p);
    expect(commits).toHaveLength(1);
    expect(commits[0]).toMatchObject({ rows: String(WEATHER_ROWS), batch: 'weather.csv', success: 'true' });

    expect(await p.locator('#rows tbody tr').count()).toBe(100);
    expect(new Set(await locations(p))).toEqual(new Set(['New York', 'Seattle']));
    expect(await p.textContent('#rows tbody tr:first-child td[data-column="date"]')).toBe('2012-01-01');

    expect(await statistic(p, 'temp_max', 'count')).toBe(String(WEATHER_ROWS));
    expect(await statistic(p, 'location', 'distinct')).toBe('2');
    expect(await statistic(p, 'date', 'min')).toBe('2012-01-01');
    expect(await statistic(p, 'date', 'max')).toBe('2015-12-31');
    const bars = await p.$$eval('#stats tr[data-column="temp_max"] svg.histogram rect', (rects) =>
      rects.map((r) => Number(/: (\d+)$/.exec(r.querySelector('title')?.textContent ?? '')?.[1])),
    );
    expect(bars.length).toBeGreaterThan(1);
    expect(bars.reduce((a, b) => a + b, 0)).toBe(WEATHER_ROWS);

    expect(problems).toEqual([]);
  });

  test('runs under a strict Content-Security-Policy (no eval, no inline code) with zero violations', async () => {
    const p = await openDemo();
    const policy = await p.getAttribute('meta[http-equiv="Content-Security-Policy"]', 'content');
    expect(policy).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(policy).toContain("worker-src 'self'");
    const sources = policy!.split(/[\s;]+/);
    expect(sources).not.toContain("'unsafe-eval'");
    expect(sources).not.toContain("'unsafe-inline'");
    // The import ran under it: DuckDB-WASM and parquet-wasm compiled, workers started, rows rendered.
    expect((await commitRows(p)).length).toBeGreaterThan(0);
    expect(await p.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)).toEqual([]);
    expect(problems).toEqual([]);
  });

  test('the location filter reads only Seattle rows', async () => {
    const p = await openDemo();

    await p.selectOption('#location-filter', 'Seattle');
    await p.waitForSelector('#rows[data-location="Seattle"]');
    await waitUntilReady(p);
    const seattle = await locations(p);
    expect(seattle).toHaveLength(100);
    expect(new Set(seattle)).toEqual(new Set(['Seattle']));

    await p.selectOption('#location-filter', '');
    await p.waitForSelector('#rows[data-location="all"]');
    await waitUntilReady(p);
    expect(new Set(await locations(p))).toEqual(new Set(['New York', 'Seattle']));

    expect(problems).toEqual([]);
  });

  test('a reload finds the same single commit: the data persisted and the batch id made the import idempotent', async () => {
    const p = await openDemo();
    const [before] = await commitRows(p);

    await p.reload();
    await waitUntilReady(p);

    const after = await commitRows(p);
    expect(after).toEqual([before]);
    expect(await p.locator('#rows tbody tr').count()).toBe(100);
    expect(problems).toEqual([]);
  });

  test('a second tab is told that the store is open elsewhere', async () => {
    await openDemo();
    const second = await context!.newPage();
    try {
      await second.goto(origin);
      await second.waitForFunction(() => document.getElementById('status')?.dataset['state'] !== 'busy', null, {
        timeout: READY_TIMEOUT_MS,
      });
      expect(await second.getAttribute('#status', 'data-state')).toBe('error');
      expect(await second.textContent('#status')).toMatch(/in use elsewhere.*already open in another tab/);
    } finally {
      await second.close();
    }
    expect(problems).toEqual([]);
  });

  test('reset deletes the group and imports the file again as one new commit', async () => {
    const p = await openDemo();
    const [before] = await commitRows(p);

    await p.click('#reset');
    await waitUntilReady(p);

    const after = await commitRows(p);
    expect(after).toHaveLength(1);
    expect(Number(after[0]!.id)).toBeGreaterThan(Number(before!.id));
    expect(after[0]).toMatchObject({ rows: String(WEATHER_ROWS), batch: 'weather.csv', success: 'true' });
    expect(await statistic(p, 'temp_max', 'count')).toBe(String(WEATHER_ROWS));
    expect(problems).toEqual([]);
  });
});
