// End-to-end: the demo as an offline-first PWA. Builds the demo twice (the second build with one changed constant),
// serves the first on 127.0.0.1 and drives it in Debian's Chromium with a fresh profile: the service worker precaches
// every file of the build, the manifest is installable, the app works offline (a prediction and a training), a real
// periodicsync event runs the scheduled pipelines, and the second build served at the same origin installs as an
// update that applies cleanly.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { chromium, type BrowserContext, type Page, type Request } from 'playwright';
import type { Plugin, PreviewServer } from 'vite';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { CHROMIUM_ARGS, findChromium } from '../../scripts/chromium.mjs';
import { buildDemo, serveDemo, waitUntilReady, watchProblems } from '../support/demo-build.ts';

const READY_TIMEOUT_MS = 90_000;
const SERVICE_WORKER = 'sw.js';
const PERIODIC_SYNC_TAG = 'larder-pipelines';
/** The constant that differs between the two builds, visible in the page. */
const BUILD_MARK = 'larder-e2e-build';

let first = '';
/** The second build runs while the browser works on the first one; the update test awaits it. */
let secondBuild: Promise<string> | undefined;
let second = '';
let server: PreviewServer | undefined;
let port = 0;
let origin = '';
let profile: string | undefined;
let context: BrowserContext | undefined;
let page: Page | undefined;
/** Console errors, uncaught errors, failed requests, HTTP errors and requests leaving the origin since the test began. */
let problems: string[] = [];

/** Marks a build: a constant in the entry chunk and a meta tag in index.html (the "changed file" of an update). */
function markBuild(mark: string): Plugin {
  return {
    name: 'larder-e2e-build-mark',
    apply: 'build',
    transformIndexHtml: () => [{ tag: 'meta', attrs: { name: BUILD_MARK, content: mark }, injectTo: 'head' }],
    renderChunk: (code, chunk) => (chunk.isEntry && chunk.name === 'index' ? `${code}\nglobalThis[${JSON.stringify(BUILD_MARK)}] = ${JSON.stringify(mark)};\n` : null),
  };
}

function buildMarked(mark: string): Promise<string> {
  return buildDemo({ plugins: [markBuild(mark)], label: `pwa-${mark}` });
}

async function serve(outDir: string): Promise<void> {
  await server?.close();
  ({ server, origin, port } = await serveDemo(outDir, port));
}

/** Every file a build wrote, relative to its root, with its SHA-256 — the test's own oracle for the precache. */
async function filesOf(outDir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const entry of await readdir(outDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = relative(outDir, join(entry.parentPath, entry.name)).split(sep).join('/');
    files.set(path, createHash('sha256').update(await readFile(join(outDir, path))).digest('hex'));
  }
  return files;
}

/** Waits for the PWA layer's state (`<html data-pwa>`); on a timeout, says where the service worker got to. */
async function pwaState(p: Page, state: string): Promise<void> {
  try {
    await p.waitForFunction((s) => document.documentElement.dataset['pwa'] === s, state, { timeout: READY_TIMEOUT_MS });
  } catch (error) {
    const seen = await p.evaluate(async () => {
      const registration = await navigator.serviceWorker.getRegistration();
      return {
        pwa: document.documentElement.dataset['pwa'],
        controlled: navigator.serviceWorker.controller !== null,
        installing: registration?.installing?.state ?? null,
        waiting: registration?.waiting?.state ?? null,
        active: registration?.active?.state ?? null,
        caches: await caches.keys(),
      };
    });
    throw new Error(`The page did not reach data-pwa="${state}": ${JSON.stringify(seen)}; problems: ${JSON.stringify(problems)}`, { cause: error });
  }
}

/** Opens a screen through the navigation and waits until it has rendered and the demo is ready. */
async function openScreen(p: Page, route: string): Promise<void> {
  if ((await p.getAttribute('#screen', 'data-rendered')) === route) {
    // Render it afresh: leave for another screen first.
    await p.click(`nav a[data-route="${route === 'overview' ? 'groups' : 'overview'}"]`);
    await p.waitForFunction((r) => document.getElementById('screen')?.dataset['rendered'] !== r, route);
    await waitUntilReady(p, READY_TIMEOUT_MS);
  }
  await p.click(`nav a[data-route="${route}"]`);
  await p.waitForFunction((r) => document.getElementById('screen')?.dataset['rendered'] === r, route, { timeout: READY_TIMEOUT_MS });
  await waitUntilReady(p, READY_TIMEOUT_MS);
}

/** This site's caches and the paths (relative to the site root) each holds. */
function cachedFiles(p: Page): Promise<Record<string, string[]>> {
  return p.evaluate(async () => {
    const out: Record<string, string[]> = {};
    for (const name of await caches.keys()) {
      const requests = await (await caches.open(name)).keys();
      out[name] = requests.map((r) => new URL(r.url).pathname.slice(1)).sort();
    }
    return out;
  });
}

function cspViolations(p: Page): Promise<string[]> {
  return p.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations);
}

function precacheOf(files: Map<string, string>): string[] {
  return [...files.keys()].filter((f) => f !== SERVICE_WORKER).sort();
}

async function predictWeather(p: Page, city: string, day: string): Promise<{ value: number; model: string }> {
  await openScreen(p, 'predict');
  await p.selectOption('[data-testid="predict-city"]', city);
  await p.fill('[data-testid="predict-day"]', day);
  await p.click('[data-testid="predict-weather"]');
  await p.waitForFunction(
    (expected) => document.querySelector('[data-testid="weather-value"]')?.parentElement?.textContent?.startsWith(expected) === true,
    `${city}, ${day}:`,
    { timeout: READY_TIMEOUT_MS },
  );
  await waitUntilReady(p, READY_TIMEOUT_MS);
  return {
    value: Number(await p.getAttribute('[data-testid="weather-value"]', 'data-value')),
    model: (await p.textContent('[data-testid="weather-model"]')) ?? '',
  };
}

/** The demo's pipeline table: each pipeline's run count and last run ("trigger mode, time") and status. */
async function pipelineRuns(p: Page): Promise<Record<string, { runs: number; last: string; status: string }>> {
  await openScreen(p, 'overview');
  return p.$$eval('[data-testid="pipeline-table"] tbody tr', (rows) =>
    Object.fromEntries(rows.map((row) => {
      const cell = (column: string) => row.querySelector(`td[data-column="${column}"]`)?.textContent ?? '';
      return [cell('pipeline'), { runs: Number(cell('runs')), last: cell('last run'), status: cell('status') }];
    })),
  );
}

beforeAll(async () => {
  const started = Date.now();
  first = await buildMarked('first');
  secondBuild = buildMarked('second');
  secondBuild.catch(() => undefined); // awaited (and its failure reported) by the update test
  await serve(first);
  profile = await mkdtemp(join(tmpdir(), 'larder-pwa-e2e-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: findChromium(),
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: { width: 1280, height: 900 },
  });
  watchProblems(context, () => origin, (problem) => problems.push(problem));
  // Every Content-Security-Policy violation the page sees (registering the service worker included).
  await context.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { cspViolations: string[] }).cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (event) => seen.push(`${event.violatedDirective} ${event.blockedURI}`));
  });
  console.log(`pwa e2e: a build and a browser in ${Date.now() - started} ms`);
});

afterAll(async () => {
  await context?.close();
  await server?.close();
  second = (await secondBuild?.catch(() => '')) ?? '';
  for (const folder of [profile, first, second]) {
    if (folder !== undefined && folder !== '') await rm(folder, { recursive: true, force: true });
  }
});

beforeEach(() => {
  problems = [];
});

// The tests share one tab and build on each other, in order: first visit, offline, periodic sync, update.
describe('the demo as an offline-first PWA', () => {
  test('the first visit installs a service worker that precaches every file of the build and controls the page', async () => {
    page = await context!.newPage();
    const started = Date.now();
    await page.goto(origin);
    await waitUntilReady(page, READY_TIMEOUT_MS);
    await pwaState(page, 'offline-ready');
    console.log(`pwa e2e: first visit set up and offline-ready in ${Date.now() - started} ms`);

    expect(await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL)).toBe(`${origin}/${SERVICE_WORKER}`);
    const caches = await cachedFiles(page);
    expect(Object.keys(caches)).toHaveLength(1);
    const [name] = Object.keys(caches);
    expect(name).toMatch(new RegExp(`^larder-demo:${origin}/:[0-9a-f]{16}$`));
    // Everything the build wrote: the app shell, every chunk and worker, the wasm binaries, the data, manifest, icons.
    const files = precacheOf(await filesOf(first));
    expect(caches[name!]).toEqual(files);
    expect(files).toEqual(expect.arrayContaining(['index.html', 'manifest.webmanifest', 'icons/icon-512.png']));
    for (const pattern of [/^assets\/duckdb-eh-.*\.wasm$/, /^assets\/duckdb-browser-eh\.worker-.*\.js$/, /^assets\/tfjs-backend-wasm-.*\.wasm$/, /^assets\/parquet_wasm_bg-.*\.wasm$/, /^assets\/weather-.*\.csv$/, /^assets\/football-.*\.json$/]) {
      expect(files.some((f) => pattern.test(f)), `a file matching ${pattern}`).toBe(true);
    }
    expect(await cspViolations(page)).toEqual([]);
    expect(problems).toEqual([]);
  });

  test('the manifest is valid and Chromium finds the app installable', async () => {
    const p = page!;
    expect(await p.getAttribute('link[rel="manifest"]', 'href')).toBe('manifest.webmanifest');
    expect(await p.getAttribute('meta[name="theme-color"]', 'content')).toMatch(/^#[0-9a-f]{6}$/);

    const session = await context!.newCDPSession(p);
    const parsed = await session.send('Page.getAppManifest');
    expect(parsed.url).toBe(`${origin}/manifest.webmanifest`);
    expect(parsed.errors).toEqual([]);
    expect((await session.send('Page.getInstallabilityErrors')).installabilityErrors).toEqual([]);
    await session.detach();

    const response = await fetch(`${origin}/manifest.webmanifest`);
    expect(response.ok).toBe(true);
    const manifest = (await response.json()) as { name: string; short_name: string; display: string; start_url: string; scope: string; icons: { src: string; sizes: string; type: string; purpose: string }[] };
    expect(manifest).toMatchObject({ display: 'standalone', start_url: './', scope: './' });
    expect(manifest.name).toMatch(/Larder/);
    expect(manifest.short_name.length).toBeGreaterThan(0);
    const declared = manifest.icons.map((i) => `${i.sizes} ${i.purpose}`).sort();
    expect(declared).toEqual(['192x192 any', '192x192 maskable', '512x512 any', '512x512 maskable']);
    for (const icon of manifest.icons) {
      expect(icon.type).toBe('image/png');
      // Relative to the manifest: the site works under any base path.
      expect(icon.src).not.toMatch(/^\//);
      const image = await fetch(new URL(icon.src, response.url));
      expect(image.ok).toBe(true);
      const bytes = new Uint8Array(await image.arrayBuffer());
      expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      const header = new DataView(bytes.buffer, bytes.byteOffset + 16, 8); // IHDR's width and height
      expect(`${header.getUint32(0)}x${header.getUint32(4)}`).toBe(icon.sizes);
    }
    expect(problems).toEqual([]);
  });

  test('offline, a reload loads the whole app from the service worker; a prediction and a training run', async () => {
    const p = page!;
    const served: { url: string; fromServiceWorker: boolean }[] = [];
    const onResponse = (response: { url(): string; fromServiceWorker(): boolean }): void => {
      served.push({ url: response.url(), fromServiceWorker: response.fromServiceWorker() });
    };
    await context!.setOffline(true);
    context!.on('response', onResponse);
    try {
      await p.reload();
      await waitUntilReady(p, READY_TIMEOUT_MS);
      expect(await p.evaluate(() => navigator.onLine)).toBe(false);

      const prediction = await predictWeather(p, 'New York', '2014-03-10');
      expect(Number.isFinite(prediction.value)).toBe(true);
      expect(prediction.model).toMatch(/^v\d+$/);

      await openScreen(p, 'training');
      const lastRun = (): Promise<Record<string, string>> =>
        p.$$eval('[data-testid="last-run"] td', (cells) => Object.fromEntries(cells.map((c) => [(c as HTMLElement).dataset['column'] ?? '', c.textContent ?? ''])));
      const before = await lastRun();
      const model = await p.inputValue('[data-testid="train-model"]');
      await p.click('[data-testid="train"]');
      // The screen renders again once the run is over, showing it as the last run.
      await p.waitForFunction(
        (id) => document.getElementById('status')?.dataset['state'] !== 'busy' && document.querySelector('[data-testid="last-run"] td[data-column="run"]')?.textContent !== id,
        before['run'] ?? '',
        { timeout: READY_TIMEOUT_MS },
      );
      await waitUntilReady(p, READY_TIMEOUT_MS);
      const after = await lastRun();
      expect(after).toMatchObject({ model, status: 'finished' });
      expect(after['version']).toMatch(/^v\d+$/);
      expect(await cspViolations(p)).toEqual([]);
    } finally {
      context!.off('response', onResponse);
      await context!.setOffline(false);
    }
    // Nothing reached the network: every response came from the service worker's cache.
    expect(served.length).toBeGreaterThan(5);
    expect(served.filter((r) => !r.fromServiceWorker && !/^(data|blob):/.test(r.url))).toEqual([]);
    expect(problems).toEqual([]);
  });

  test('a real periodicsync event makes the service worker run the scheduled pipelines through the open page', async () => {
    const p = page!;
    // Coming back online runs the pipelines (schedule "on reconnect"): wait until none has been running for a while,
    // or the service worker's request would find them busy and skip them.
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let before = await pipelineRuns(p);
    for (let quiet = 0; quiet < 3; ) {
      if (Date.now() > deadline) throw new Error(`pipelines still running: ${JSON.stringify(before)}`);
      await p.waitForTimeout(300);
      const now = await pipelineRuns(p);
      quiet = Object.values(now).some((r) => r.status === 'running') || JSON.stringify(now) !== JSON.stringify(before) ? 0 : quiet + 1;
      before = now;
    }
    expect(Object.keys(before).length).toBeGreaterThanOrEqual(2);

    const session = await context!.newCDPSession(p);
    const registrationId = new Promise<string>((resolve) => {
      session.on('ServiceWorker.workerRegistrationUpdated', (event) => {
        const found = event.registrations.find((r) => r.scopeURL === `${origin}/` && !r.isDeleted);
        if (found !== undefined) resolve(found.registrationId);
      });
    });
    await session.send('ServiceWorker.enable');
    await session.send('ServiceWorker.dispatchPeriodicSyncEvent', { origin, registrationId: await registrationId, tag: PERIODIC_SYNC_TAG });
    await session.detach();

    // Every scheduled pipeline runs once more, triggered by the service worker.
    let after = await pipelineRuns(p);
    const done = (): boolean =>
      Object.entries(before).every(([name, r]) => after[name] !== undefined && after[name].runs > r.runs && after[name].last.startsWith('service-worker ') && after[name].status !== 'running');
    while (!done()) {
      if (Date.now() > deadline + READY_TIMEOUT_MS) throw new Error(`periodic sync did not run the pipelines: ${JSON.stringify({ before, after })}`);
      await p.waitForTimeout(250);
      after = await pipelineRuns(p);
    }
    for (const run of Object.values(after)) {
      expect(run.last).toMatch(/^service-worker /);
      expect(run.status).toBe('succeeded');
    }
    expect(problems).toEqual([]);
  });

  test('a new build at the same origin installs beside the old one, is announced, and applies cleanly', async () => {
    const p = page!;
    const started = Date.now();
    second = await secondBuild!;
    console.log(`pwa e2e: waited ${Date.now() - started} ms for the second build`);
    const old = await filesOf(first);
    const fresh = await filesOf(second);
    const oldCaches = Object.keys(await cachedFiles(p));
    expect(oldCaches).toHaveLength(1);

    await serve(second);
    const downloaded: string[] = [];
    const onRequest = (request: Request): void => {
      if (request.serviceWorker() !== null) downloaded.push(new URL(request.url()).pathname.slice(1));
    };
    context!.on('request', onRequest);
    try {
      // The navigation makes the browser check sw.js; the new version installs while this page keeps the old one.
      await p.reload();
      await waitUntilReady(p, READY_TIMEOUT_MS);
      await pwaState(p, 'update-ready');
    } finally {
      context!.off('request', onRequest);
    }
    expect(await p.textContent('[data-testid="pwa-update"]')).toMatch(/new version/);
    expect(await p.getAttribute(`meta[name="${BUILD_MARK}"]`, 'content')).toBe('first');
    const both = await cachedFiles(p);
    expect(Object.keys(both)).toHaveLength(2);
    const newCache = Object.keys(both).find((name) => !oldCaches.includes(name))!;
    expect(both[newCache]).toEqual(precacheOf(fresh));
    // Only the files that changed were downloaded; the rest (the 34 MB DuckDB wasm among them) came from the old cache.
    const changed = precacheOf(fresh).filter((f) => old.get(f) !== fresh.get(f));
    expect(changed).toEqual(expect.arrayContaining(['index.html']));
    expect(changed.length).toBeLessThan(precacheOf(fresh).length / 2);
    expect(downloaded.filter((f) => f !== SERVICE_WORKER).sort()).toEqual(changed);
    console.log(`pwa e2e: the update downloaded ${changed.length} of ${precacheOf(fresh).length} files: ${changed.join(', ')}`);

    // Applying it: the new worker takes over, deletes the old cache, and the page reloads into the new build.
    await Promise.all([p.waitForEvent('load', { timeout: READY_TIMEOUT_MS }), p.click('[data-testid="pwa-apply"]')]);
    await waitUntilReady(p, READY_TIMEOUT_MS);
    await pwaState(p, 'offline-ready');
    expect(await p.getAttribute(`meta[name="${BUILD_MARK}"]`, 'content')).toBe('second');
    expect(await p.evaluate((mark) => (globalThis as Record<string, unknown>)[mark], BUILD_MARK)).toBe('second');
    expect(await cachedFiles(p)).toEqual({ [newCache]: precacheOf(fresh) });
    expect(await p.locator('[data-testid="pwa-update"]').count()).toBe(0);

    // The updated app works.
    const prediction = await predictWeather(p, 'Seattle', '2015-06-01');
    expect(Number.isFinite(prediction.value)).toBe(true);
    expect(await cspViolations(p)).toEqual([]);
    expect(problems).toEqual([]);
  });
});
