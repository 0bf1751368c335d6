// Bad-inputs drill: counts the hostile-input corpus of issue 10 through the real code in Chromium — generated names,
// hostile CSV (a huge line, a million columns, unbalanced quotes, a BOM, NUL bytes), damaged Parquet, JSON with
// __proto__/constructor keys, model-artifact mutants and crafted snapshot manifests. Each case must end within its
// bound in a LarderError (or, where the input may be valid, be accepted soundly): a non-Larder error or a crashed
// page is a crash, no answer in time a hang, and a refused case that changed the store a changed store.
// The generators are re-implemented in reliability/pages/bad-inputs.page.ts (the tests keep theirs inside the test
// files); the manifest and artifact corpora are smaller than the unit tests' (which run without a browser).
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright';
import { useHarness } from '../test/support/harness.ts';
import type { CategoryStats } from './pages/bad-inputs.page.ts';
import { SEED, callPage, closeStore, knob, log, newDrillResult, reopen, writeResult } from './support.ts';

const NAMES = knob('RELIABILITY_NAMES', 10_000, 1_000);
const HUGE_LINE_MB = knob('RELIABILITY_CSV_LINE_MB', 500, 50);
const MUTANTS = knob('RELIABILITY_ARTIFACT_MUTANTS', 1_000, 100);
const DAMAGED = knob('RELIABILITY_DAMAGED', 100, 20);
const STORE = 'drill_bad_inputs';
const PAGE = '/reliability/pages/bad-inputs.page.ts';

const harness = useHarness();

describe('bad inputs', () => {
  it('end in typed errors within their bounds and change nothing', async () => {
    const started = Date.now();
    const result = newDrillResult('bad-inputs', {
      mustBeZero: { crashes: 0, hangs: 0, changedStores: 0, wrongVerdicts: 0 },
      figures: {},
    });
    await writeResult(result);
    let page: Page = await harness.browser.open(harness.url);
    let open = await reopen(page, STORE);
    expect(open.opened, open.errors.join(' | ')).toBe(true);
    let tried = 0;
    const categories: [string, string, unknown][] = [
      ['names', 'names', { count: NAMES, seed: SEED }],
      ['csv', 'csv', { hugeLineBytes: HUGE_LINE_MB * 1024 * 1024 }],
      ['parquet', 'parquet', { damaged: DAMAGED, seed: SEED }],
      ['json', 'jsonKeys', null],
      ['artifacts', 'artifacts', { count: MUTANTS, seed: SEED }],
      ['manifests', 'manifests', { puller: `${STORE}_puller`, damaged: DAMAGED, seed: SEED }],
    ];
    for (const [category, fn, arg] of categories) {
      const categoryStarted = Date.now();
      let stats: CategoryStats;
      try {
        stats = await callPage<CategoryStats>(page, PAGE, fn, arg);
      } catch (error) {
        // The category did not finish (its page died, or something outside a case failed): one crash, and a fresh
        // page with the store opened again for the next category.
        stats = { tried: 1, refused: 0, accepted: 0, crashes: 1, hangs: 0, changedStores: 0, wrongVerdicts: 0, slowestMs: Date.now() - categoryStarted, examples: [`the category failed: ${String((error as Error).message ?? error).slice(0, 400)}`] };
        await page.close().catch(() => undefined);
        page = await harness.browser.open(harness.url);
        open = await reopen(page, STORE);
        expect(open.opened, open.errors.join(' | ')).toBe(true);
      }
      tried += stats.tried;
      for (const key of ['crashes', 'hangs', 'changedStores', 'wrongVerdicts'] as const) result.mustBeZero[key]! += stats[key];
      Object.assign(result.figures, { [`${category}Tried`]: stats.tried, [`${category}Refused`]: stats.refused, [`${category}Accepted`]: stats.accepted, [`${category}SlowestMs`]: stats.slowestMs });
      const bad = stats.crashes + stats.hangs + stats.changedStores + stats.wrongVerdicts;
      if (bad > 0) for (const example of stats.examples) result.findings.push(`${category}: ${example}`);
      log(`${category}: ${stats.tried} tried, ${stats.refused} refused, ${stats.accepted} accepted, ${stats.crashes} crashes, ${stats.hangs} hangs, ${stats.changedStores} changed, ${stats.wrongVerdicts} wrong (${Date.now() - categoryStarted} ms)${bad > 0 ? `: ${stats.examples.join(' | ')}` : ''}`);
      result.iterations = tried;
      await writeResult(result);
    }
    await closeStore(page);
    await page.close();
    result.figures['tried'] = tried;
    result.figures['hugeCsvLineMB'] = HUGE_LINE_MB;
    result.complete = true;
    result.durationMs = Date.now() - started;
    await writeResult(result);
    expect(result.findings).toEqual([]);
  });
});
