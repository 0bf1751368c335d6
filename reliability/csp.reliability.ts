// CSP drill: builds the demo with its production config (vite.config.ts: a strict Content-Security-Policy in a meta
// tag), serves the build, opens it in Chromium and follows every in-app navigation link and tab, counting
// `securitypolicyviolation` events, console errors and uncaught errors. The demo's weather.csv is served with an XSS
// payload in one row's `weather` value, so the payload enters through the library's real ingest; wherever the demo
// shows it, it must be text (no element made of it, nothing run).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, findChromium } from '../scripts/chromium.mjs';
import { log, newDrillResult, writeResult } from './support.ts';

const CONFIG_FILE = fileURLToPath(new URL('../vite.config.ts', import.meta.url));
/** Recognisable, without commas or quotes (one CSV field as it is), and loud if it ever became markup. */
const PAYLOAD = '<img src=x-larder-xss onerror=window.larderXss=1><b id=larder-xss>xss</b>';
const SETTLE_TIMEOUT_MS = 180_000;

let server: PreviewServer | undefined;
let context: BrowserContext | undefined;
const temporary: string[] = [];
afterAll(async () => {
  await context?.close();
  await server?.close();
  for (const dir of temporary) await rm(dir, { recursive: true, force: true });
});

/** Waits while the demo says it is busy (#status data-state="busy"), if it has such a status at all. */
async function settle(page: Page): Promise<void> {
  await page.waitForFunction(() => document.getElementById('status')?.dataset['state'] !== 'busy', null, { timeout: SETTLE_TIMEOUT_MS });
  await page.waitForTimeout(300); // a screen may render once more after its data arrives
}

describe('the built demo under its Content-Security-Policy', () => {
  it('has zero CSP violations on every screen and shows an XSS payload in the data as text', async () => {
    const started = Date.now();
    const result = newDrillResult('csp', {
      mustBeZero: { cspViolations: 0, consoleErrors: 0, xssExecuted: 0, payloadNotShownAsText: 0 },
      figures: {},
    });
    await writeResult(result);
    const finding = (text: string) => {
      result.findings.push(text);
      log(`FINDING ${text}`);
    };

    // Built into a directory of its own: the demo's e2e test may build dist-demo at the same time.
    const outDir = await mkdtemp(join(tmpdir(), 'larder-csp-build-'));
    temporary.push(outDir);
    await build({ configFile: CONFIG_FILE, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
    server = await preview({ configFile: CONFIG_FILE, logLevel: 'warn', build: { outDir }, preview: { host: '127.0.0.1', port: 0, strictPort: true, open: false } });
    const url = server.resolvedUrls?.local[0];
    if (url === undefined) throw new Error('vite preview did not report a local URL');
    const origin = new URL(url).origin;
    const profile = await mkdtemp(join(tmpdir(), 'larder-csp-profile-'));
    temporary.push(profile);
    context = await chromium.launchPersistentContext(profile, { executablePath: findChromium(), args: CHROMIUM_ARGS, headless: true, viewport: { width: 1280, height: 900 } });

    const errors: string[] = [];
    context.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text().slice(0, 300));
    });
    context.on('weberror', (error) => errors.push(`uncaught: ${String(error.error()).slice(0, 300)}`));
    await context.addInitScript(() => {
      const seen: string[] = [];
      (window as unknown as { cspViolations: string[] }).cspViolations = seen;
      document.addEventListener('securitypolicyviolation', (event) => seen.push(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`));
    });
    // weather.csv with the payload as the first row's weather (the demo imports it through fg.insert).
    let payloadServed = false;
    await context.route(/weather[^/]*\.csv(\?.*)?$/, async (route) => {
      const answer = await route.fetch();
      const text = await answer.text();
      const lines = text.split('\n');
      if (lines.length > 1) {
        lines[1] = lines[1]!.replace(/,[a-z]+$/, `,${PAYLOAD}`);
        payloadServed = true;
      }
      await route.fulfill({ response: answer, body: lines.join('\n') });
    });

    const page = await context.newPage();
    await page.goto(url);
    await settle(page);
    const visited: string[] = [page.url()];
    let payloadShown = 0;
    const inspectScreen = async (where: string) => {
      const state = await page.evaluate((payload) => ({
        violations: (window as unknown as { cspViolations: string[] }).cspViolations.length,
        executed: (window as unknown as { larderXss?: number }).larderXss === 1,
        markup: document.querySelectorAll('img[src="x-larder-xss"], #larder-xss').length,
        shownAsText: document.body.innerText.includes(payload),
      }), PAYLOAD);
      if (state.executed || state.markup > 0) {
        result.mustBeZero['xssExecuted']!++;
        finding(`the XSS payload became markup (${state.markup} elements, ran: ${state.executed}) on ${where}`);
      }
      if (state.shownAsText) payloadShown++;
    };
    await inspectScreen(page.url());

    // Every navigation link and tab, by position (a screen may re-render its navigation).
    const links = 'nav a, [role="tab"]';
    const count = await page.locator(links).count();
    for (let i = 0; i < count; i++) {
      const link = page.locator(links).nth(i);
      if (!(await link.isVisible())) continue;
      const label = (await link.textContent())?.trim() ?? `link ${i}`;
      await link.click();
      await settle(page);
      visited.push(`${label} → ${new URL(page.url()).hash || '/'}`);
      await inspectScreen(label);
    }
    // Any hash route linked from anywhere in the app, not only its navigation.
    const hashes = await page.$$eval('a[href^="#"]', (as) => [...new Set(as.map((a) => a.getAttribute('href')!))]);
    for (const hash of hashes) {
      await page.goto(`${origin}/${hash}`);
      await settle(page);
      visited.push(hash);
      await inspectScreen(hash);
    }

    // The group the payload went into, on the screen that shows a group's first rows: the payload must be there, as text.
    await page.goto(`${origin}/#/groups`);
    await settle(page);
    await page.selectOption('#group-picker', 'weather_raw@1');
    await settle(page);
    visited.push('groups: weather_raw v1');
    await inspectScreen('groups: weather_raw v1');
    if (payloadServed && payloadShown === 0) {
      result.mustBeZero['payloadNotShownAsText'] = 1;
      finding('the XSS payload was ingested but no screen showed it, not even weather_raw v1\'s rows: "renders as text" is not checked');
    }

    const violations = await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations);
    const policy = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', 'content');
    result.mustBeZero['cspViolations'] = violations.length;
    result.mustBeZero['consoleErrors'] = errors.length;
    for (const v of violations) finding(`CSP violation: ${v}`);
    for (const e of errors) finding(`console: ${e}`);
    if (policy === null || !policy.includes("script-src 'self' 'wasm-unsafe-eval'") || !policy.includes("worker-src 'self'") || /(^|[\s;])'unsafe-(eval|inline)'/.test(policy)) {
      finding(`the built page's policy is not the strict one: ${policy}`);
    }
    await page.close();
    Object.assign(result.figures, {
      screensVisited: visited.length,
      navigationLinks: count,
      hashRoutes: hashes.length,
      payloadServed: payloadServed ? 'yes' : 'no',
      screensShowingPayloadAsText: payloadShown,
    });
    log(`visited: ${visited.join(' | ')}`);
    result.iterations = visited.length;
    result.complete = true;
    result.durationMs = Date.now() - started;
    await writeResult(result);
    expect(result.findings).toEqual([]);
  });
});
