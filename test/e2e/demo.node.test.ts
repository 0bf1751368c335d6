// End-to-end: builds the demo for production with Vite, serves the build, and drives it in Debian's Chromium with a fresh profile:
// the first run from the embedded data, the weather story (v2, promote, rollback), the football leakage check
// against an oracle computed here from football.json, shadow and A/B, keyboard use, every screen's screenshot.
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright';
import type { PreviewServer } from 'vite';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { CHROMIUM_ARGS, findChromium } from '../../scripts/chromium.mjs';
import { buildDemo, serveDemo, waitUntilReady, watchProblems } from '../support/demo-build.ts';
import { TEST_ACCESS_KEY_ID, TEST_BUCKET, TEST_SECRET_ACCESS_KEY, startS3Stack } from '../support/s3-servers.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCREENSHOTS = join(ROOT, 'test-results', 'screenshots');
const WEATHER_ROWS = 2922;
const READY_TIMEOUT_MS = 120_000;
const ROUTES = ['overview', 'groups', 'views', 'training', 'experiments', 'registry', 'predict', 'compare', 'storage', 'sync'] as const;
type Route = (typeof ROUTES)[number];

let server: PreviewServer | undefined;
let outDir: string | undefined;
let context: BrowserContext | undefined;
let profile: string | undefined;
let origin = '';
/** Console errors, uncaught errors, failed requests and requests leaving the origin, since the test began. */
let problems: string[] = [];
let page: Page | undefined;

async function cspViolations(p: Page): Promise<string[]> {
  return p.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations);
}

async function openDemo(): Promise<Page> {
  page = await context!.newPage();
  await page.goto(origin);
  await waitUntilReady(page, READY_TIMEOUT_MS);
  return page;
}

/** Follows the screen's link in the navigation and waits for the screen to be rendered and the page idle. */
async function show(p: Page, route: Route): Promise<void> {
  await p.click(`nav a[data-route="${route}"]`);
  await p.waitForFunction(
    (r) => document.getElementById('screen')?.dataset['rendered'] === r && document.getElementById('status')?.dataset['state'] !== 'busy',
    route, { timeout: READY_TIMEOUT_MS },
  );
  expect(await p.textContent('#status')).toBe('ready');
}

async function clickAndWait(p: Page, selector: string): Promise<void> {
  await p.click(selector);
  await waitUntilReady(p, READY_TIMEOUT_MS);
}

async function commitRows(p: Page): Promise<{ id: string; time: string; rows: string; batch: string; success: string | null }[]> {
  return p.$$eval('#commits [data-testid="commit"]', (rows) =>
    rows.map((row) => ({
      id: row.querySelector('[data-field="id"]')?.textContent ?? '',
      time: row.querySelector('[data-field="time"]')?.textContent ?? '',
      rows: row.querySelector('[data-field="rows"]')?.textContent ?? '',
      batch: row.querySelector('[data-field="batch"]')?.textContent ?? '',
      success: row.querySelector('[data-field="validation"]')?.getAttribute('data-success') ?? null,
    })),
  );
}

async function showGroup(p: Page, name: string, version: number): Promise<void> {
  await show(p, 'groups');
  await p.selectOption('#group-picker', `${name}@${version}`);
  await p.waitForFunction((n) => document.querySelector('[data-testid="group-name"]')?.textContent === n && document.getElementById('status')?.dataset['state'] !== 'busy',
    `${name} v${version}`, { timeout: READY_TIMEOUT_MS });
}

function statistic(p: Page, column: string, name: string): Promise<string | null> {
  return p.textContent(`#stats tr[data-column="${column}"] [data-stat="${name}"]`);
}

async function predictWeather(p: Page, city: string, day: string): Promise<{ value: string; model: string; view: string }> {
  await show(p, 'predict');
  await p.selectOption('#predict-city', city);
  await p.fill('#predict-day', day);
  await clickAndWait(p, '[data-testid="predict-weather"]');
  return {
    value: (await p.getAttribute('[data-testid="weather-value"]', 'data-value')) ?? '',
    model: (await p.textContent('[data-testid="weather-model"]')) ?? '',
    view: (await p.textContent('[data-testid="weather-view"]')) ?? '',
  };
}

beforeAll(async () => {
  // The production build, as `npm run build` makes it (its service worker included), in a folder of its own.
  outDir = await buildDemo({ label: 'e2e' });
  ({ server, origin } = await serveDemo(outDir));
  profile = await mkdtemp(join(tmpdir(), 'larder-demo-e2e-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: findChromium(),
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: { width: 1280, height: 800 },
  });
  watchProblems(context, () => origin, (problem) => problems.push(problem));
  // Every Content-Security-Policy violation the page sees.
  await context.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { cspViolations: string[] }).cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (event) => seen.push(`${event.violatedDirective} ${event.blockedURI}`));
  });
  await mkdir(SCREENSHOTS, { recursive: true });
}, 120_000);

afterAll(async () => {
  await context?.close();
  await server?.close();
  if (profile !== undefined) await rm(profile, { recursive: true, force: true });
  if (outDir !== undefined) await rm(outDir, { recursive: true, force: true });
});

beforeEach(() => {
  problems = [];
});

afterEach(async () => {
  await page?.close();
  page = undefined;
});

describe('the demo, built and served', () => {
  test('the first run sets everything up from the embedded data under a strict CSP', async () => {
    const started = Date.now();
    const p = await openDemo();
    console.log(`first run: ${Date.now() - started} ms`);
    expect(await p.$$eval('.steps li', (items) => items.map((i) => i.getAttribute('data-done')))).toEqual(['true', 'true', 'true', 'false', 'false', 'true', 'true', 'true']);
    expect(await p.textContent('[data-testid="champion"]')).toBe('weather_temp v1');

    await showGroup(p, 'weather_raw', 1);
    const commits = await commitRows(p);
    expect(commits).toHaveLength(1);
    expect(commits[0]).toMatchObject({ rows: String(WEATHER_ROWS), batch: 'weather.csv', success: 'true' });
    expect(await statistic(p, 'temp_max', 'count')).toBe(String(WEATHER_ROWS));
    expect(await statistic(p, 'date', 'min')).toBe('2012-01-01');
    const bars = await p.$$eval('#stats tr[data-column="temp_max"] svg.histogram title', (titles) =>
      titles.map((t) => Number(/: (\d+)$/.exec(t.textContent ?? '')?.[1])));
    expect(bars.length).toBeGreaterThan(1);
    expect(bars.reduce((a, b) => a + b, 0)).toBe(WEATHER_ROWS);

    const policy = await p.getAttribute('meta[http-equiv="Content-Security-Policy"]', 'content');
    expect(policy).toContain("style-src 'self'");
    expect(policy!.split(/[\s;]+/)).not.toContain("'unsafe-inline'");
    expect(await cspViolations(p)).toEqual([]);
    expect(problems).toEqual([]);
  });

  test('weather story: v2 is built and trained, the green button promotes it, the red one rolls back to v1\'s exact predictions', async () => {
    const p = await openDemo();
    const v1 = await predictWeather(p, 'Seattle', '2015-06-01');
    expect(v1.model).toBe('v1');
    expect(v1.view).toBe('v1');
    expect(Number.isFinite(Number(v1.value))).toBe(true);
    // The features used are that day's values, and the actual outcome the next day's maximum (read from weather.csv here).
    const csv = await readFile(join(ROOT, 'node_modules/vega-datasets/data/weather.csv'), 'utf8');
    const day = (d: string) => csv.split('\n').find((line) => line.startsWith(`Seattle,${d},`))!.split(',');
    expect(await p.textContent('[data-testid="weather-features"] tr[data-feature="temp_max"] td[data-column="stored value"]')).toBe(Number(day('2015-06-01')[3]).toFixed(3));
    expect(await p.textContent('[data-testid="weather-features"] tr[data-feature="wind"] td[data-column="stored value"]')).toBe(Number(day('2015-06-01')[5]).toFixed(3));
    expect(await p.textContent('[data-testid="weather-actual"]')).toBe(`${Number(day('2015-06-02')[3]).toFixed(1)} °C`);
    expect(await p.$$eval('[data-testid="weather-features"] tbody tr', (rows) => rows.map((r) => r.getAttribute('data-feature'))))
      .toEqual(['is_seattle', 'temp_max', 'temp_min', 'precipitation', 'wind', 'season_sin', 'season_cos']);
    const other = await predictWeather(p, 'New York', '2014-01-15');

    await show(p, 'overview');
    await clickAndWait(p, '[data-testid="upgrade"]');
    expect(await p.textContent('[data-testid="model-v2"]')).toMatch(/^v2, trained on view v2 — test RMSE \d+\.\d\d °C$/);
    expect(await p.isDisabled('[data-testid="upgrade"]')).toBe(true);
    // Training reported live: the chart has its per-epoch points and the bar is full.
    await show(p, 'training');
    expect(await p.textContent('[data-testid="train-label"]')).toMatch(/^weather_temp on view v2: epoch 20 of 20/);
    expect(await p.$eval('[data-testid="train-progress"]', (bar) => (bar as HTMLProgressElement).value === (bar as HTMLProgressElement).max)).toBe(true);
    expect(await p.locator('[data-testid="train-chart"] svg').count()).toBe(1);

    await showGroup(p, 'weather', 2);
    expect(await p.$$eval('#schema tbody tr', (rows) => rows.map((r) => r.getAttribute('data-column')))).toContain('temp_max_mean7');

    // Until promoted, the champion still serves v1.
    expect(await predictWeather(p, 'Seattle', '2015-06-01')).toEqual(v1);

    await show(p, 'registry');
    expect(await p.textContent('[data-testid="promote"]')).toBe('Promote v2 to champion');
    await clickAndWait(p, '[data-testid="promote"]');
    expect(await p.textContent('[data-testid="registry-champion"]')).toBe('v2');
    const v2 = await predictWeather(p, 'Seattle', '2015-06-01');
    expect(v2.model).toBe('v2');
    expect(v2.view).toBe('v2');
    expect(v2.value).not.toBe(v1.value);
    expect(await p.$$eval('[data-testid="weather-features"] tbody tr', (rows) => rows.map((r) => r.getAttribute('data-feature')))).toContain('precipitation_sum7');

    await show(p, 'registry');
    await clickAndWait(p, '[data-testid="rollback"]');
    expect(await p.textContent('[data-testid="registry-champion"]')).toBe('v1');
    expect(await predictWeather(p, 'Seattle', '2015-06-01')).toEqual(v1);
    expect(await predictWeather(p, 'New York', '2014-01-15')).toEqual(other);
    await show(p, 'registry');
    const history = await p.$$eval('[data-testid="history-weather_temp"] tbody tr', (rows) =>
      rows.map((r) => [...r.querySelectorAll('td')].slice(1, 6).map((c) => c.textContent)));
    expect(history).toEqual([
      ['champion', 'promote', '–', 'v1', 'v1'],
      ['challenger', 'set', '–', 'v2', 'v2'],
      ['champion', 'promote', 'v1', 'v2', 'v2'],
      ['champion', 'rollback', 'v2', 'v1', 'v1'],
    ]);
    expect(await cspViolations(p)).toEqual([]);
    expect(problems).toEqual([]);
  });

  test('football: the features shown for a match are its teams\' form from strictly earlier matches (an oracle from football.json)', async () => {
    const file = JSON.parse(await readFile(join(ROOT, 'node_modules/vega-datasets/data/football.json'), 'utf8')) as FootballMatch[];
    const p = await openDemo();
    // A team's very first match (no form yet), and a late-season match whose teams played the day before it, if any.
    const late = pickMatch(file);
    for (const id of [1, late]) {
      const match = file[id - 1]!;
      await show(p, 'predict');
      await p.selectOption('#predict-division', match.division);
      await waitUntilReady(p, READY_TIMEOUT_MS);
      await p.selectOption('#predict-match', String(id));
      await clickAndWait(p, '[data-testid="predict-football"]');
      expect(await p.getAttribute('[data-testid="football-result"]', 'data-match')).toBe(String(id));
      const shown = Object.fromEntries(await p.$$eval('[data-testid="football-features"] tbody tr', (rows) =>
        rows.map((r): [string, string] => [r.getAttribute('data-feature') ?? '', r.querySelectorAll('td')[1]?.textContent ?? ''])));
      const expected: Record<string, string> = {};
      for (const [side, team] of [['home', match.home_team], ['away', match.away_team]] as const) {
        const form = oracleForm(file, team, match.date);
        // A team's first match has no earlier form: the view's imputer made it 0.
        for (const [name, value] of Object.entries(form)) expected[`${side}_${name}`] = value === null ? '0 (no earlier match: imputed)' : String(value);
      }
      expect(shown).toEqual(expected);
      const score = `${match.home_score}–${match.away_score}`;
      expect(await p.textContent('[data-testid="football-actual"]')).toMatch(new RegExp(`^${score}, (home win|draw|away win)$`));
      expect(await p.textContent('[data-testid="football-predicted"]')).toMatch(/^(home win|draw|away win)$/);
      // The team's form row that counts this match is dated the day after it, and is marked as not visible to it.
      const after = new Date(Date.parse(`${match.date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
      expect(await p.textContent(`[data-testid="form-home"] tr[data-known-from="${after}"] td:last-child`)).toBe('✗ includes this match: not visible to it');
    }
    expect(problems).toEqual([]);
  });

  test('shadow and A/B: the challenger predicts every request in the shadow, the split serves each entity from one arm', async () => {
    const p = await openDemo();
    await show(p, 'compare');
    expect(await p.textContent('[data-testid="challenger"]')).toBe('v2');
    await clickAndWait(p, '[data-testid="run-shadow"]');
    const arms = () => p.$$eval('[data-testid="arms"] tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((c) => c.textContent ?? '')));
    // Arms in name order.
    const shadow = (await arms()).sort((a, b) => a[0]!.localeCompare(b[0]!));
    expect(shadow.map((a) => a.slice(0, 5))).toEqual([
      ['challenger', 'shadow (logged only)', '60', '60', 'v2'],
      ['champion', 'served', '60', '60', 'v1'],
    ]);
    for (const arm of shadow) expect(Number(arm[5])).toBeGreaterThan(0);
    expect(await p.textContent('[data-testid="agreement"]')).toMatch(/^60 requests predicted by both: mean absolute difference \d+\.\d\d °C\.$/);

    await clickAndWait(p, '[data-testid="run-split"]');
    const split = (await arms()).sort((a, b) => a[0]!.localeCompare(b[0]!));
    expect(split.map((a) => [a[0], a[1]])).toEqual([['challenger', 'served'], ['champion', 'served']]);
    expect(split.reduce((sum, a) => sum + Number(a[2]), 0)).toBe(60);
    for (const arm of split) expect(Number(arm[2])).toBeGreaterThan(0);
    await p.screenshot({ path: join(SCREENSHOTS, 'compare-results-1280.png'), fullPage: true });
    expect(await cspViolations(p)).toEqual([]);
    expect(problems).toEqual([]);
  });

  test('sync: the sync screen pushes the store to an S3-compatible server and pulls it back; the bucket holds the snapshot', async () => {
    const stack = await startS3Stack();
    try {
      const p = await openDemo();
      await show(p, 'sync');
      // The form is filled for each call: the screen keeps no credentials once a call is done.
      const fill = async () => {
        await p.selectOption('#sync-kind', 's3');
        await p.fill('#endpoint', stack.gateway.endpoint);
        await p.fill('#bucket', TEST_BUCKET);
        await p.fill('#region', 'us-east-1');
        await p.fill('#access', TEST_ACCESS_KEY_ID);
        await p.fill('#secret', TEST_SECRET_ACCESS_KEY);
        await p.fill('#prefix', 'demo-e2e');
      };
      await fill();
      await clickAndWait(p, '[data-testid="push"]');
      const pushed = (await p.textContent('[data-testid="sync-result"]')) ?? '';
      expect(pushed).toMatch(/^pushed \d+ objects \(\d+ bytes\): manifest manifests\/[0-9a-f]{64}\.json$/);
      // What the server stores, read from its directory: HEAD names the pushed manifest, which lists the demo's groups.
      const root = join(stack.s3.directory, TEST_BUCKET, 'demo-e2e');
      const head = JSON.parse(await readFile(join(root, 'HEAD._S3rver_object'), 'utf8')) as { manifest: string };
      expect(pushed.endsWith(head.manifest)).toBe(true);
      const manifest = JSON.parse(await readFile(join(root, `${head.manifest}._S3rver_object`), 'utf8')) as { groups: { name: string; version: number }[] };
      expect(manifest.groups.map((g) => `${g.name} v${g.version}`).sort()).toEqual(expect.arrayContaining(['matches v1', 'team_form v1', 'weather v1', 'weather_raw v1']));
      // Pulling the same snapshot back finds the store already at it.
      expect(await p.inputValue('#secret')).toBe('');
      await fill();
      await clickAndWait(p, '[data-testid="pull"]');
      expect(await p.textContent('[data-testid="sync-result"]')).toBe(`already at ${head.manifest}`);
      // The secret was in the form for the calls, nowhere else the page keeps things.
      const kept = await p.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage } }));
      expect(kept).not.toContain(TEST_SECRET_ACCESS_KEY);
      expect(await cspViolations(p)).toEqual([]);
      // Requests to the server the user entered are the only ones leaving the origin. The sync protocol meets 404s
      // (objects not there yet) and 412s (conditional writes that lost), which Chromium logs as console errors.
      const expected = (problem: string) => problem.includes(`${stack.gateway.endpoint}/`)
        || /^console error: Failed to load resource: the server responded with a status of (404 \(Not Found\)|412 \(Precondition Failed\))$/.test(problem);
      expect(problems.filter((problem) => !expected(problem))).toEqual([]);
    } finally {
      await stack.close();
    }
  });

  test('keyboard: every screen is reached by Tab and Enter, the focus is visible, buttons work from the keyboard', async () => {
    const p = await openDemo();
    await p.keyboard.press('Tab');
    expect(await p.evaluate(() => document.activeElement?.textContent)).toBe('Skip to the screen');
    let tabs = 0;
    while ((await p.evaluate(() => document.activeElement?.getAttribute('data-route'))) !== 'overview' && tabs++ < 10) await p.keyboard.press('Tab');
    for (const route of ROUTES) {
      expect(await p.evaluate(() => document.activeElement?.getAttribute('data-route'))).toBe(route);
      const outline = await p.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
      expect(outline).not.toBe('none');
      await p.keyboard.press('Tab');
    }
    // Enter on a link opens its screen and moves the focus to it.
    await p.focus('nav a[data-route="predict"]');
    await p.keyboard.press('Enter');
    await p.waitForFunction(() => document.getElementById('screen')?.dataset['rendered'] === 'predict' && document.getElementById('status')?.dataset['state'] === 'ready');
    expect(await p.evaluate(() => document.activeElement?.id)).toBe('screen');
    // The prediction form, driven by the keyboard alone.
    await p.keyboard.press('Tab');
    expect(await p.evaluate(() => document.activeElement?.id)).toBe('predict-city');
    await p.keyboard.press('Tab');
    expect(await p.evaluate(() => document.activeElement?.id)).toBe('predict-day');
    // The date input takes a Tab per part (month, day, year), then the button.
    for (let i = 0; i < 5 && (await p.evaluate(() => document.activeElement?.id)) === 'predict-day'; i++) await p.keyboard.press('Tab');
    expect(await p.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('predict-weather');
    await p.keyboard.press('Enter');
    await waitUntilReady(p, READY_TIMEOUT_MS);
    expect(await p.textContent('[data-testid="weather-model"]')).toMatch(/^v\d+$/);
    // The screen was drawn again with the answer; the keyboard user is still on the button, not thrown to the page.
    expect(await p.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('predict-weather');
    expect(problems).toEqual([]);
  });

  test('every screen renders without errors at 1280×800 and at 390 px wide (screenshots in test-results/screenshots)', async () => {
    const p = await openDemo();
    for (const route of ROUTES) {
      await show(p, route);
      if (route === 'predict') {
        // With a prediction of each kind on screen.
        await clickAndWait(p, '[data-testid="predict-weather"]');
        await clickAndWait(p, '[data-testid="predict-football"]');
      }
      await p.screenshot({ path: join(SCREENSHOTS, `${route}-1280.png`), fullPage: true });
    }
    await p.setViewportSize({ width: 390, height: 844 });
    for (const route of ['overview', 'predict', 'registry', 'groups'] as const) {
      await show(p, route);
      await p.screenshot({ path: join(SCREENSHOTS, `${route}-390.png`), fullPage: true });
      // Nothing wider than the screen: wide tables scroll inside their own box.
      expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    }
    expect(await cspViolations(p)).toEqual([]);
    expect(problems).toEqual([]);
  });

  test('a reload finds the same single import commit; a second tab is told the store is open elsewhere', async () => {
    const p = await openDemo();
    await showGroup(p, 'weather_raw', 1);
    const before = await commitRows(p);
    const started = Date.now();
    await p.reload();
    await waitUntilReady(p, READY_TIMEOUT_MS);
    console.log(`reload to ready: ${Date.now() - started} ms`);
    await showGroup(p, 'weather_raw', 1);
    expect(await commitRows(p)).toEqual(before);

    // Screens opened in quick succession render side by side: only the last is shown, never two appended together.
    await p.evaluate(() => {
      location.hash = '#/groups?group=weather%401';
      setTimeout(() => (location.hash = '#/groups?group=weather_raw%401'), 0);
    });
    await p.waitForFunction(() => document.querySelector('[data-testid="group-name"]')?.textContent === 'weather_raw v1' && document.getElementById('status')?.dataset['state'] === 'ready',
      null, { timeout: READY_TIMEOUT_MS });
    expect(await p.locator('#commits').count()).toBe(1);
    expect(await commitRows(p)).toEqual(before);

    const second = await context!.newPage();
    try {
      await second.goto(origin);
      await second.waitForFunction(() => document.getElementById('status')?.dataset['state'] !== 'busy', null, { timeout: READY_TIMEOUT_MS });
      expect(await second.getAttribute('#status', 'data-state')).toBe('error');
      expect(await second.textContent('#status')).toMatch(/in use elsewhere.*already open in another tab/);
    } finally {
      await second.close();
    }
    expect(problems).toEqual([]);
  });

  test('reset deletes the demo store and sets it up again from scratch', async () => {
    const p = await openDemo();
    await showGroup(p, 'weather_raw', 1);
    const [before] = await commitRows(p);
    await p.click('#reset');
    await p.waitForEvent('load', { timeout: READY_TIMEOUT_MS });
    await waitUntilReady(p, READY_TIMEOUT_MS);
    await show(p, 'overview');
    expect(await p.textContent('[data-testid="champion"]')).toBe('weather_temp v1');
    expect(await p.textContent('[data-testid="model-v2"]')).toBe('not yet');
    await showGroup(p, 'weather_raw', 1);
    const after = await commitRows(p);
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ rows: String(WEATHER_ROWS), batch: 'weather.csv', success: 'true' });
    // A new store: the import is not the one before (a later commit time).
    expect(after[0]!.time > before!.time).toBe(true);
    expect(problems).toEqual([]);
  });
});

interface FootballMatch {
  date: string;
  division: string;
  home_team: string;
  away_team: string;
  home_score: number;
  away_score: number;
}

/** A team's form over its last five matches on days strictly before `day`, from the file (ties in file order). */
function oracleForm(file: readonly FootballMatch[], team: string, day: string): Record<string, number | null> {
  const earlier = file
    .map((m, i) => ({ m, i }))
    .filter(({ m }) => m.date < day && (m.home_team === team || m.away_team === team))
    .sort((a, b) => a.m.date.localeCompare(b.m.date) || a.i - b.i)
    .slice(-5)
    .map(({ m }): [number, number] => (m.home_team === team ? [m.home_score, m.away_score] : [m.away_score, m.home_score]));
  if (earlier.length === 0) return { played5: null, goals_for5: null, goals_against5: null, points5: null };
  return {
    played5: earlier.length,
    goals_for5: earlier.reduce((a, [f]) => a + f, 0),
    goals_against5: earlier.reduce((a, [, g]) => a + g, 0),
    points5: earlier.reduce((a, [f, g]) => a + (f > g ? 3 : f === g ? 1 : 0), 0),
  };
}

/** The first match, from the 3,000th on, whose home team also played the day before (the closest call for a leak). */
function pickMatch(file: readonly FootballMatch[]): number {
  const dayBefore = (d: string) => new Date(Date.parse(`${d}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
  const played = new Set(file.flatMap((m) => [`${m.home_team}|${m.date}`, `${m.away_team}|${m.date}`]));
  for (let i = 3000; i < file.length; i++) {
    const m = file[i]!;
    if (played.has(`${m.home_team}|${dayBefore(m.date)}`)) return i + 1;
  }
  return 3001;
}
