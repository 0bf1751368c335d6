// Shared pieces of the reliability drills: knobs read from the environment, a seeded random source, the ways a drill
// kills a store, opening a store again after a kill, and the results file each drill leaves for the report card.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright';
import type * as Larder from '../src/index.ts';

/** Where each drill writes its figures; scripts/reliability-report.mjs reads them. */
export const RESULTS_DIRECTORY = '.reliability-results';

/** `RELIABILITY_QUICK=1`: a handful of iterations and small batches, for a run while working on the code. */
export const QUICK = process.env['RELIABILITY_QUICK'] === '1';

/** A positive integer from the environment, or `fallback` (which itself depends on quick mode). */
export function knob(name: string, full: number, quick: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return QUICK ? quick : full;
  const value = Number(raw.replaceAll('_', ''));
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got '${raw}'.`);
  return value;
}

/** The seed every drill derives its random choices from; print it with any failure so the run can be repeated. */
export const SEED = knob('RELIABILITY_SEED', 20261126, 20261126);

export { seededRandom } from './random.ts';

/** A progress line on stderr (the drills are long; vitest shows it as it comes). */
export function log(message: string): void {
  process.stderr.write(`[reliability] ${message}\n`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * How a drill stops a store in the middle of its work:
 * - `worker`: `Worker.terminate()` on the store worker (DuckDB's own worker is its child and dies with it) — the page
 *   lives on and opens the store again;
 * - `page`: the tab is closed (no beforeunload), as a user closing it;
 * - `crash`: the renderer process is crashed through the DevTools protocol (`Page.crash`), as an out-of-memory kill.
 */
export type KillMode = 'worker' | 'page' | 'crash';
export const KILL_MODES: readonly KillMode[] = ['worker', 'page', 'crash'];

/** The page property a drill keeps its open store in. */
interface DrillWindow {
  drillStore?: Larder.FeatureStore;
}

/** Kills the store of `page` in the given way. Returns the page to reopen the store in (the same one for `worker`). */
export async function kill(page: Page, mode: KillMode, url: string): Promise<Page> {
  if (mode === 'worker') {
    await page.evaluate(() => {
      const store = (window as DrillWindow).drillStore;
      // `worker` is private in the facade's types; the drill reaches past them to pull the plug.
      (store as unknown as { worker: Worker } | undefined)?.worker.terminate();
      delete (window as DrillWindow).drillStore;
    });
    return page;
  }
  const context = page.context();
  if (mode === 'page') {
    await page.close({ runBeforeUnload: false });
  } else {
    const cdp = await context.newCDPSession(page);
    const crashed = page.waitForEvent('crash', { timeout: 10_000 });
    // Page.crash never answers: the renderer is gone before it could.
    cdp.send('Page.crash').catch(() => undefined);
    await crashed;
    await page.close().catch(() => undefined); // a crashed page may refuse to close cleanly; it is gone either way
  }
  const next = await context.newPage();
  await next.goto(url);
  await next.waitForSelector('body[data-ready="true"]', { state: 'attached' });
  return next;
}

/** What opening a store again after a kill took. */
export interface OpenOutcome {
  opened: boolean;
  attempts: number;
  ms: number;
  /** The last error when it did not open (or the errors retried past when it did). */
  errors: string[];
}

/**
 * Opens the store into `window.drillStore`, retrying for `withinMs` (the dead owner's Web Lock and OPFS access handle
 * take a moment to go). A store that does not open within that time counts as a failed open.
 */
export async function reopen(page: Page, storeName: string, withinMs = 20_000): Promise<OpenOutcome> {
  return page.evaluate(
    async ({ storeName, withinMs }) => {
      const started = performance.now();
      const errors: string[] = [];
      let attempts = 0;
      while (performance.now() - started < withinMs) {
        attempts++;
        try {
          (window as DrillWindow).drillStore = await window.larder.openFeatureStore({ name: storeName });
          return { opened: true, attempts, ms: Math.round(performance.now() - started), errors: [...new Set(errors)] };
        } catch (error) {
          const e = error as { code?: string; message?: string };
          errors.push(`${e.code ?? 'no code'}: ${String(e.message ?? error).slice(0, 300)}`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
      return { opened: false, attempts, ms: Math.round(performance.now() - started), errors: [...new Set(errors)] };
    },
    { storeName, withinMs },
  );
}

/** Closes the store kept in `window.drillStore`, if any. */
export async function closeStore(page: Page): Promise<void> {
  await page.evaluate(async () => {
    const store = (window as DrillWindow).drillStore;
    delete (window as DrillWindow).drillStore;
    await store?.close();
  });
}

/** The figures one drill leaves for the report card. `complete` is false while (or if) the drill did not finish. */
export interface DrillResult {
  drill: string;
  complete: boolean;
  seed: number;
  quick: boolean;
  iterations: number;
  /** Figures that must be zero; the card fails on any other value. */
  mustBeZero: Record<string, number>;
  /** Other figures worth printing (timings, how the kills fell). */
  figures: Record<string, number | string>;
  /** One line per finding, with what repeats it. */
  findings: string[];
  durationMs: number;
}

/** A drill's result before it ran: incomplete (a drill that dies half-way shows as INCOMPLETE on the card), no iterations. */
export function newDrillResult(drill: string, start: { mustBeZero: Record<string, number>; figures?: Record<string, number | string> }): DrillResult {
  return { drill, complete: false, seed: SEED, quick: QUICK, iterations: 0, mustBeZero: start.mustBeZero, figures: start.figures ?? {}, findings: [], durationMs: 0 };
}

export async function writeResult(result: DrillResult): Promise<void> {
  await mkdir(RESULTS_DIRECTORY, { recursive: true });
  await writeFile(join(RESULTS_DIRECTORY, `${result.drill}.json`), `${JSON.stringify(result, null, 2)}\n`);
}

/**
 * Calls `exportName(arg)` of a module served by the harness's Vite server (a path from the repository root, such as
 * `/reliability/pages/materialize.page.ts`) inside `page`, and returns what it resolves with. The drill's in-page code
 * lives in typed modules this way instead of in strings. The import goes through `new Function`: vitest rewrites
 * `import()` in the drill's own source for Node, which the page could not run.
 */
export async function callPage<T>(page: Page, module: string, exportName: string, arg: unknown = null): Promise<T> {
  return (await page.evaluate(
    async ({ module, exportName, arg }) => {
      // eslint-disable-next-line @typescript-eslint/no-implied-eval -- a fixed text, not input: an import() vitest leaves alone
      const load = new Function('path', 'return import(path)') as (path: string) => Promise<Record<string, (a: unknown) => unknown>>;
      const loaded = await load(module);
      const fn = loaded[exportName];
      if (fn === undefined) throw new Error(`${module} has no export ${exportName}`);
      return await fn(arg);
    },
    { module, exportName, arg },
  )) as T;
}

/** Starts `exportName(arg)` like {@link callPage} but does not wait: the promise settles in the page, unobserved. */
export async function startInPage(page: Page, module: string, exportName: string, arg: unknown = null): Promise<void> {
  await page.evaluate(
    async ({ module, exportName, arg }) => {
      // eslint-disable-next-line @typescript-eslint/no-implied-eval -- a fixed text, not input: an import() vitest leaves alone
      const load = new Function('path', 'return import(path)') as (path: string) => Promise<Record<string, (a: unknown) => unknown>>;
      const fn = (await load(module))[exportName];
      if (fn === undefined) throw new Error(`${module} has no export ${exportName}`);
      const w = window as unknown as { drillSettled?: Record<string, string> };
      w.drillSettled ??= {};
      const settled = w.drillSettled;
      // What an earlier call of the same function on this page ended in is not this call's answer.
      delete settled[exportName];
      Promise.resolve(fn(arg)).then(
        () => (settled[exportName] = 'resolved'),
        (error: unknown) => (settled[exportName] = `rejected: ${String((error as Error).message ?? error)}`),
      );
    },
    { module, exportName, arg },
  );
}

/** What became of the call {@link startInPage} began: undefined while it runs. */
export async function settledInPage(page: Page, exportName: string): Promise<string | undefined> {
  return page.evaluate((name) => (window as unknown as { drillSettled?: Record<string, string> }).drillSettled?.[name], exportName);
}

/** Waits until the call {@link startInPage} began has settled, and returns how. */
export async function waitSettled(page: Page, exportName: string, timeoutMs = 600_000): Promise<string> {
  const started = Date.now();
  for (;;) {
    const state = await settledInPage(page, exportName);
    if (state !== undefined) return state;
    if (Date.now() - started > timeoutMs) throw new Error(`${exportName} did not settle within ${timeoutMs} ms`);
    await sleep(20);
  }
}
