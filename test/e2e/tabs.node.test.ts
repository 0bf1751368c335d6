import { describe, expect, it } from 'vitest';
import { useHarness } from '../support/harness.ts';
import { runTabDrill } from '../support/tabs.ts';

// Several tabs of one origin on one store, in real Chromium with a profile on disk: one owner at a time (a Web Lock),
// the others queue with `whenLocked: 'wait'` and take over when the owner's tab closes; no write lost or duplicated.

const harness = useHarness();

/** A small seeded generator, so a failing round can be repeated. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('several tabs on one store', () => {
  it.each([2, 4])('%i tabs: the next tab takes over when the owner closes; no write lost or duplicated', async (tabs) => {
    const result = await runTabDrill(harness.browser.context!, harness.url, {
      tabs, storeName: `tabs_${tabs}`, acksBeforeClose: [1, 4], rowsPerBatch: 200, random: seeded(tabs),
    });
    expect(result.errors).toEqual([]);
    expect(result.failedTakeovers).toBe(0);
    expect(result.failoverMs).toHaveLength(tabs - 1);
    expect(result.concurrentOwners).toBe(0);
    expect(result.acknowledged).toBeGreaterThanOrEqual(tabs);
    expect(result.lostWrites).toBe(0);
    expect(result.duplicatedWrites).toBe(0);
    console.log(`${tabs} tabs: failover ${result.failoverMs.join(', ')} ms; ${result.acknowledged} acknowledged, ${result.resent} re-sent`);
  });

  it("a waiting open stops on its signal, and 'fail' (the default) still refuses at once", async () => {
    const owner = await harness.browser.open(harness.url);
    await owner.evaluate(async () => {
      (window as unknown as { held: unknown }).held = await window.larder.openFeatureStore({ name: 'tabs_abort' });
    });
    const other = await harness.browser.open(harness.url);
    const outcome = await other.evaluate(async () => {
      const { openFeatureStore, OperationAbortedError, StoreLockedError } = window.larder;
      const describe = (e: unknown) => ({
        aborted: e instanceof OperationAbortedError, locked: e instanceof StoreLockedError, code: (e as { code?: string }).code,
      });
      const refused = await openFeatureStore({ name: 'tabs_abort' }).then(() => null, describe);
      const controller = new AbortController();
      let waited = 0;
      const waiting = openFeatureStore({ name: 'tabs_abort', whenLocked: 'wait', signal: controller.signal, onWaiting: () => waited++ });
      await new Promise((resolve) => setTimeout(resolve, 500));
      controller.abort();
      const aborted = await waiting.then(() => null, describe);
      const badOption = await openFeatureStore({ name: 'tabs_abort', whenLocked: 'later' as 'wait' }).then(() => null, (e: Error) => e.name);
      return { refused, aborted, waited, badOption };
    });
    expect(outcome).toEqual({
      refused: { aborted: false, locked: true, code: 'STORE_LOCKED' },
      aborted: { aborted: true, locked: false, code: 'ABORTED' },
      waited: 1,
      badOption: 'InvalidArgumentError',
    });
    // The aborted waiter left nothing behind: once the owner closes, a plain open succeeds at once.
    await owner.evaluate(async () => (window as unknown as { held: { close(): Promise<void> } }).held.close());
    const reopened = await other.evaluate(async () => {
      const store = await window.larder.openFeatureStore({ name: 'tabs_abort' });
      await store.close();
      return true;
    });
    expect(reopened).toBe(true);
    await owner.close();
    await other.close();
  });
});
