// Several-tabs drill: rounds of 2 and 4 tabs on one store; each round the owner writes, its tab is closed at a random
// moment, the next queued tab (`whenLocked: 'wait'`) takes over, re-sends what went unanswered, and so on down to the
// last tab, which checks the store. Figures: takeover times; lost, duplicated and concurrent writes must be zero.
import { describe, expect, it } from 'vitest';
import { useHarness } from '../test/support/harness.ts';
import { runTabDrill } from '../test/support/tabs.ts';
import { SEED, knob, log, newDrillResult, seededRandom, writeResult } from './support.ts';

const ROUNDS = knob('RELIABILITY_TAB_ROUNDS', 10, 1);

const harness = useHarness();

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

describe('several tabs: owner election and takeover', () => {
  it(`${ROUNDS} rounds each of 2 and 4 tabs`, async () => {
    const started = Date.now();
    const result = newDrillResult('tab-failover', {
      mustBeZero: { lostWrites: 0, duplicatedWrites: 0, failedTakeovers: 0, concurrentOwners: 0 },
      figures: {},
    });
    await writeResult(result);
    const random = seededRandom(SEED);
    const failovers: number[] = [];
    let acknowledged = 0;
    let resent = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const tabs of [2, 4]) {
        const outcome = await runTabDrill(harness.browser.context!, harness.url, {
          tabs, storeName: `drill_tabs_${round}_${tabs}`, acksBeforeClose: [1, 6], rowsPerBatch: 500, random,
        });
        result.iterations++;
        for (const key of ['lostWrites', 'duplicatedWrites', 'failedTakeovers', 'concurrentOwners'] as const) result.mustBeZero[key]! += outcome[key];
        for (const error of outcome.errors) result.findings.push(`round ${round}, ${tabs} tabs: ${error}`);
        failovers.push(...outcome.failoverMs);
        acknowledged += outcome.acknowledged;
        resent += outcome.resent;
        log(`round ${round}, ${tabs} tabs: takeovers ${outcome.failoverMs.join(', ')} ms, ${outcome.acknowledged} acknowledged`);
      }
    }
    const sorted = [...failovers].sort((a, b) => a - b);
    result.figures = {
      takeovers: failovers.length,
      failoverP50Ms: percentile(sorted, 0.5),
      failoverP95Ms: percentile(sorted, 0.95),
      failoverMaxMs: sorted.at(-1) ?? Number.NaN,
      overTwoSeconds: failovers.filter((ms) => ms > 2000).length,
      acknowledged,
      resent,
    };
    result.complete = true;
    result.durationMs = Date.now() - started;
    await writeResult(result);
    expect(result.findings).toEqual([]);
    expect(result.mustBeZero).toEqual({ lostWrites: 0, duplicatedWrites: 0, failedTakeovers: 0, concurrentOwners: 0 });
  });
});
