// Reload drill: the page reloads itself the moment an insert is acknowledged, without closing the store, again and
// again. Only the checkpoint before the acknowledgement protects each batch; every one of them must be there.
import { describe, expect, it } from 'vitest';
import { useHarness, waitReady } from '../test/support/harness.ts';
import { knob, log, newDrillResult, writeResult } from './support.ts';

const RELOADS = knob('RELIABILITY_RELOADS', 100, 5);
const STORE = 'drill_reload';

const harness = useHarness();

describe('reload right after an acknowledged commit', () => {
  it(`keeps all ${RELOADS} batches`, async () => {
    const started = Date.now();
    const result = newDrillResult('reload-after-ack', {
      mustBeZero: { lostCommits: 0, failedOpens: 0, duplicateBatches: 0 },
      figures: {},
    });
    // Marked incomplete until the end: a drill that dies half-way shows as INCOMPLETE on the card.
    await writeResult(result);
    const acknowledged = new Map<string, number>();
    const page = await harness.browser.open(harness.url);
    const roundMs: number[] = [];
    for (let i = 0; i < RELOADS; i++) {
      const roundStarted = Date.now();
      const loaded = page.waitForEvent('load');
      const outcome = await page.evaluate(
        async ({ store, i }) => {
          let opened;
          try {
            opened = await window.larder.openFeatureStore({ name: store });
          } catch (error) {
            return { error: String((error as Error).message ?? error) };
          }
          const group = await opened.createFeatureGroup({
            name: 'g', version: 1, primaryKey: 'id', eventTime: 'ts', features: { id: 'int64', ts: 'timestamp', note: 'string' },
          });
          const commit = await group.insert([{ id: i, ts: i * 1000, note: `reload ${i}` }], { batchId: `reload-${i}` });
          // Straight after the acknowledgement, with the store still open: the page goes away.
          setTimeout(() => location.reload(), 0);
          return { commitId: commit.commitId };
        },
        { store: STORE, i },
      );
      if ('error' in outcome) {
        result.mustBeZero['failedOpens']!++;
        result.findings.push(`reload ${i}: the store did not open: ${outcome.error}`);
        await page.reload();
      } else {
        acknowledged.set(`reload-${i}`, outcome.commitId);
      }
      await loaded;
      await waitReady(page);
      result.iterations = i + 1;
      roundMs.push(Date.now() - roundStarted);
      if ((i + 1) % 10 === 0 || i + 1 === RELOADS) log(`reload ${i + 1}/${RELOADS} (last round ${roundMs.at(-1)} ms)`);
    }
    const stored = await page.evaluate(async (store) => {
      const opened = await window.larder.openFeatureStore({ name: store });
      try {
        const group = await opened.getFeatureGroup('g', 1);
        const ids = Array.from((await group.read({ columns: ['id'] })).getChild('id')!.toArray() as BigInt64Array, Number);
        return { ids, ledger: (await group.commits()).map((c) => ({ batchId: c.batchId, commitId: c.commitId })) };
      } finally {
        await opened.close();
      }
    }, STORE);
    for (const [batchId, commitId] of acknowledged) {
      const entries = stored.ledger.filter((c) => c.batchId === batchId);
      const id = Number(batchId.slice('reload-'.length));
      if (entries.length > 1) {
        result.mustBeZero['duplicateBatches']!++;
        result.findings.push(`${batchId} is in the ledger ${entries.length} times`);
      }
      if (entries[0]?.commitId !== commitId || stored.ids.filter((x) => x === id).length !== 1) {
        result.mustBeZero['lostCommits']!++;
        result.findings.push(`${batchId} (commit ${commitId}, acknowledged) is missing after the reloads: ledger ${JSON.stringify(entries)}`);
      }
    }
    await page.close();
    roundMs.sort((a, b) => a - b);
    result.figures = {
      acknowledged: acknowledged.size,
      present: stored.ledger.length,
      rows: stored.ids.length,
      medianRoundMs: roundMs[Math.floor(roundMs.length / 2)] ?? 0,
      slowestRoundMs: roundMs.at(-1) ?? 0,
    };
    result.complete = true;
    result.durationMs = Date.now() - started;
    await writeResult(result);
    for (const f of result.findings) log(`FINDING ${f}`);
    expect(result.findings).toEqual([]);
    expect(stored.ids.length).toBe(RELOADS);
  });
});
